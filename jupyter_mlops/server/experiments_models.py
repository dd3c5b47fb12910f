"""Pydantic models of the experiments routes (mirrored by `src/api/experiments.ts`).

The answers follow the dataclasses of `jupyter_mlops.core.tracking.search`
field for field, so the panel, `%mlops runs` and the CLI show the same
things; the only additions are what a browser needs and the core cannot know:
notebook paths relative to the Jupyter server's root, ready for
`docmanager:open`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from ..core.tracking.search import MAX_COMPARE, MAX_PAGE_SIZE
from .models import StrictModel


class ExperimentModel(BaseModel):
    id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int | None = Field(None, description="Milliseconds since the epoch")
    last_update_time: int | None = Field(None, description="Milliseconds since the epoch")


class ExperimentListResponse(BaseModel):
    experiments: list[ExperimentModel] = Field(
        description="Active experiments, most recently updated first")


class RunSearchQuery(StrictModel):
    filter: str | None = Field(
        None, max_length=10_000,
        description="MLflow search filter, e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"")
    order_by: list[str] | None = Field(
        None, max_length=10,
        description="MLflow order clause, e.g. 'metrics.acc DESC'; repeat the parameter for "
                    "several. Default: attributes.start_time DESC")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Runs per page")
    page_token: str | None = Field(None, max_length=4096,
                                   description="next_page_token of the previous page")

    @field_validator("order_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """A single `?order_by=` arrives as a string, a repeated one as a list."""
        if isinstance(value, str):
            return [value] if value.strip() else None
        return value

    @field_validator("order_by")
    @classmethod
    def _clauses(cls, value: list[str] | None) -> list[str] | None:
        for clause in value or []:
            if not clause.strip() or len(clause) > 500:
                raise ValueError("each order_by clause must be 1 to 500 characters")
        return value


class RunSummaryModel(BaseModel):
    """One row of the runs table."""

    id: str
    name: str
    experiment_id: str
    status: str
    start_time: int | None
    end_time: int | None
    duration_ms: int | None
    user: str | None
    params: dict[str, str]
    metrics: dict[str, float | None] = Field(description="Latest value of each metric; "
                                             "NaN and infinities are null")
    tags: dict[str, str] = Field(description="User tags (mlflow.* and mlops.* are left out)")
    notebook: str | None = Field(description="The notebook that produced the run, "
                                 "workspace-relative when inside the workspace")
    output_notebook: str | None = Field(description="The executed (papermill) notebook, if any")
    git_commit: str | None
    git_dirty: bool | None
    parent_run_id: str | None


class RunPageResponse(BaseModel):
    runs: list[RunSummaryModel]
    next_page_token: str | None = Field(None, description="Pass as page_token for the next page")
    experiment_ids: list[str]


class ArtifactModel(BaseModel):
    path: str
    is_dir: bool
    size: int | None


class DatasetInputModel(BaseModel):
    name: str
    digest: str
    source_type: str
    source: str
    context: str | None = None


class NotebookRef(BaseModel):
    """A notebook a run points at, and whether the browser can open it."""

    recorded: str = Field(description="The path as recorded on the run")
    path: str | None = Field(description="Relative to the Jupyter server's root, for "
                             "docmanager:open; null when outside it")
    exists: bool


class RunDetailResponse(BaseModel):
    run: RunSummaryModel
    all_tags: dict[str, str]
    source_name: str | None
    artifact_uri: str
    artifacts: list[ArtifactModel]
    artifacts_truncated: bool
    inputs: list[DatasetInputModel]
    notebook: NotebookRef | None = Field(None, description="The source notebook")
    output_notebook: NotebookRef | None = Field(None, description="The executed notebook "
                                                "of a pipeline step")


class MetricPointModel(BaseModel):
    step: int
    value: float | None
    timestamp: int


class MetricHistoryResponse(BaseModel):
    run_id: str
    key: str
    points: list[MetricPointModel]


class CompareRequest(StrictModel):
    run_ids: list[str] = Field(..., min_length=2, max_length=MAX_COMPARE,
                               description="The runs to compare, in display order")

    @field_validator("run_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if any(not run_id.strip() for run_id in value):
            raise ValueError("run ids must be non-empty strings")
        if len(set(value)) != len(value):
            raise ValueError("run ids must be distinct")
        return value


class ComparisonResponse(BaseModel):
    run_ids: list[str]
    runs: list[RunSummaryModel]
    params_common: dict[str, str]
    params_differ: dict[str, dict[str, str | None]] = Field(
        description="param -> run id -> value (null: the run lacks the param)")
    metrics: dict[str, dict[str, float | None]] = Field(
        description="metric -> run id -> latest value")
