"""Pydantic models of the REST API: what requests may contain and answers hold.

These models are the single source of the OpenAPI document (`openapi.py`) and
the shapes mirrored by the TypeScript client in `src/api/types.ts`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Request models refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class WorkspacePaths(BaseModel):
    root: str
    mlops_dir: str
    initialized: bool
    state_db: str
    tracking_uri: str
    artifact_root: str
    objects_dir: str
    runs_dir: str
    predictions_dir: str


class Capability(BaseModel):
    id: str
    label: str
    description: str
    available: bool = Field(description="True when this server serves the capability's routes")


class ConfigResponse(BaseModel):
    version: str
    api_version: int
    workspace: WorkspacePaths
    capabilities: list[Capability]
    server: dict[str, str]


class ComponentStatus(BaseModel):
    ok: bool
    detail: str
    latency_ms: float


class HealthResponse(BaseModel):
    ok: bool
    components: dict[str, ComponentStatus]


class EventModel(BaseModel):
    id: int
    ts: str
    kind: str
    subject: str | None
    message: str
    actor: str | None
    data: dict[str, Any] | None


class EventListQuery(StrictModel):
    kind: str | None = Field(None, max_length=64,
                             description="A kind, or a dotted prefix of kinds")
    subject: str | None = Field(None, max_length=256)
    before_id: int | None = Field(None, ge=1, description="Page backwards from this id")
    limit: int = Field(50, ge=1, le=1000)


class EventListResponse(BaseModel):
    events: list[EventModel]
    next_before_id: int | None = Field(None, description="Pass as before_id for the next page")


class EventCreate(StrictModel):
    kind: Literal["note"] = Field("note", description="Clients may only add notes; "
                                  "capabilities record their own kinds")
    message: str = Field(..., min_length=1, max_length=10_000)
    subject: str | None = Field(None, max_length=256)
    data: dict[str, Any] | None = None


class ErrorDetail(BaseModel):
    field: str
    message: str
    type: str


class ErrorResponse(BaseModel):
    code: str
    message: str
    reason: str
    details: list[ErrorDetail] | dict[str, Any] | None = None
    error_id: str | None = None
