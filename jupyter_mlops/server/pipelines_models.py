"""Pydantic models of the pipelines routes (mirrored by `src/api/pipelines.ts`).

Runs and steps follow `core.pipelines.runs.RunInfo` / `StepStatus` field for
field, so a run started from a cell, the CLI, the scheduler or the panel
reads the same.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .models import StrictModel

ParamType = Literal["int", "float", "str", "bool", "list", "dict"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "skipped"]


# -- pipelines -----------------------------------------------------------------------------------
class SpecProblem(BaseModel):
    """Why a spec is not valid: where (file, line) and what."""

    file: str | None
    line: int | None
    reason: str
    loc: str | None = Field(None, description="The field, e.g. steps[1].depends_on")


class LastRun(BaseModel):
    id: str
    status: str
    created: str
    finished: str | None


class PipelineSummary(BaseModel):
    path: str = Field(description="Workspace-relative file: the pipeline's identity")
    kind: Literal["spec", "notebook"]
    name: str
    description: str = ""
    steps: int | None = Field(None, description="Number of steps (None for an invalid spec)")
    parameters: list[str] = Field(default_factory=list)
    schedule: str | None = Field(None, description="The spec's cron, when it has one")
    error: SpecProblem | None = Field(None, description="Set when the spec does not validate")
    last_run: LastRun | None = None


class PipelineList(BaseModel):
    pipelines: list[PipelineSummary]
    truncated: bool = Field(False, description="More files than the limit were found")


class PipelineListQuery(StrictModel):
    notebooks: bool = Field(True, description="Also list notebooks (one-step pipelines)")
    limit: int = Field(500, ge=1, le=5000)


class PipelineQuery(StrictModel):
    path: str = Field(..., min_length=1, max_length=1024,
                      description="A .pipeline.yaml file or a notebook, relative to the root")


class ParameterModel(BaseModel):
    name: str
    type: ParamType | None
    default: Any = None
    required: bool
    description: str = ""


class StepModel(BaseModel):
    name: str
    notebook: str
    parameters: dict[str, Any]
    depends_on: list[str] = Field(description="Every upstream step: declared or implied by a "
                                              "${steps.X.outputs.Y} reference")
    retries: int
    timeout: float | None
    kernel: str | None


class GraphModel(BaseModel):
    nodes: list[str]
    edges: list[list[str]] = Field(description="[upstream, downstream] pairs")
    levels: list[list[str]] = Field(description="Steps by depth: the columns of the DAG")


class PipelineDetail(BaseModel):
    path: str
    kind: Literal["spec", "notebook"]
    name: str
    description: str
    parameters: list[ParameterModel]
    steps: list[StepModel]
    graph: GraphModel
    concurrency: str
    schedule: dict[str, Any] | None = Field(None, description="The spec's `schedule:`")
    triggers: list[dict[str, str]]


class ValidateRequest(StrictModel):
    path: str | None = Field(None, max_length=1024,
                             description="The spec file (read from disk unless `text` is given)")
    text: str | None = Field(None, max_length=1_000_000,
                             description="Spec YAML to check instead of the file's content")


class ValidateResponse(BaseModel):
    valid: bool
    errors: list[SpecProblem]
    pipeline: PipelineDetail | None = None


# -- runs ------------------------------------------------------------------------------------------
class StepError(BaseModel):
    message: str | None
    cell_index: int | None = Field(description="Index of the failing cell in the executed "
                                               "notebook")
    ename: str | None
    evalue: str | None
    traceback: str | None


class StepRunModel(BaseModel):
    name: str
    status: str
    notebook: str
    depends_on: list[str]
    attempt: int
    max_attempts: int
    parameters: dict[str, Any] | None
    outputs: dict[str, Any] | None
    output_notebook: str | None = Field(description="Workspace-relative executed notebook")
    log_path: str | None
    started: str | None
    finished: str | None
    duration_s: float | None
    cells_done: int
    cells_total: int | None
    current_cell: int | None
    error: StepError | None
    mlflow_run_id: str | None


class RunModel(BaseModel):
    id: str
    pipeline: str
    name: str
    status: str
    trigger: str
    trigger_detail: dict[str, Any] | None
    schedule_id: int | None
    scheduled_for: str | None
    parameters: dict[str, Any]
    created: str
    started: str | None
    finished: str | None
    duration_s: float | None
    error: str | None
    actor: str | None
    mlflow_run_id: str | None
    rerun_of: str | None
    owner: str | None
    cancel_requested: bool
    steps: list[StepRunModel]


class RunList(BaseModel):
    runs: list[RunModel] = Field(description="Newest first; step tracebacks are left out "
                                             "(the run's detail has them)")
    next_before: str | None = Field(None, description="Pass as `before` for the next page")


class RunListQuery(StrictModel):
    pipeline: str | None = Field(None, max_length=1024)
    status: RunStatus | None = None
    before: str | None = Field(None, max_length=40, pattern=r"^[0-9A-Za-z-]+$",
                               description="A run id: the page after it")
    limit: int = Field(20, ge=1, le=200)


class RunCreate(StrictModel):
    pipeline: str = Field(..., min_length=1, max_length=1024,
                          description="A .pipeline.yaml file or a notebook, relative to the root")
    parameters: dict[str, Any] = Field(default_factory=dict,
                                       description="Checked against the pipeline's parameters; "
                                                   "strings are parsed to the declared types")


class RunFileQuery(StrictModel):
    path: str = Field("", max_length=1024,
                      description="A file of the run's folder; empty for the folder listing")
    content: bool = True


class RunFile(BaseModel):
    """A Jupyter Contents model of a file under `.mlops/runs/<run-id>/` (always read-only)."""

    name: str
    path: str = Field(description="<run-id>/<file>: its path on the MLOpsRuns drive")
    type: Literal["notebook", "file", "directory"]
    format: Literal["json", "text", "base64"] | None
    mimetype: str | None
    content: Any = None
    created: str
    last_modified: str
    size: int | None
    writable: bool = False


# -- schedules -------------------------------------------------------------------------------------
class TriggerModel(BaseModel):
    kind: Literal["dataset_snapshot", "drift_alert", "model_registered"]
    subject: str = Field(..., min_length=1, max_length=256)


class ScheduleModel(BaseModel):
    id: int
    pipeline: str
    source: str = Field(description="user (made here, the CLI or a cell) or spec (from the "
                                    "file's schedule:)")
    cron: str | None
    timezone: str
    catch_up: str
    max_backfill: int
    triggers: list[dict[str, Any]]
    parameters: dict[str, Any]
    paused: bool
    next_fire_at: str | None
    last_fire_at: str | None
    created: str
    updated: str
    upcoming: list[str] = Field(description="The next five fire times (UTC, ISO 8601); "
                                            "empty while paused")


class ScheduleList(BaseModel):
    schedules: list[ScheduleModel]


class ScheduleListQuery(StrictModel):
    pipeline: str | None = Field(None, max_length=1024)


class ScheduleCreate(StrictModel):
    pipeline: str = Field(..., min_length=1, max_length=1024)
    cron: str | None = Field(None, max_length=128,
                             description="5 fields, a 6th for seconds, or @daily…")
    timezone: str = Field("UTC", max_length=64)
    catch_up: Literal["skip", "latest", "backfill"] = "latest"
    max_backfill: int = Field(10, ge=1, le=1000)
    triggers: list[TriggerModel] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    paused: bool = False


class ScheduleUpdate(StrictModel):
    cron: str | None = Field(None, max_length=128)
    timezone: str | None = Field(None, max_length=64)
    catch_up: Literal["skip", "latest", "backfill"] | None = None
    max_backfill: int | None = Field(None, ge=1, le=1000)
    triggers: list[TriggerModel] | None = None
    parameters: dict[str, Any] | None = None
    paused: bool | None = None


class FireTimesQuery(StrictModel):
    cron: str = Field(..., min_length=1, max_length=128)
    timezone: str = Field("UTC", max_length=64)
    n: int = Field(5, ge=1, le=50)


class FireTimes(BaseModel):
    cron: str
    timezone: str
    times: list[str] = Field(description="UTC, ISO 8601")
    local: list[str] = Field(description="The same instants in the schedule's timezone")


class Deleted(BaseModel):
    deleted: int
