"""The record of pipeline runs, as every process reads it: statuses, views, listing.

`RunInfo` / `StepStatus` are detached copies of the `pipeline_runs` and
`pipeline_step_runs` rows (safe across threads and surfaces); `_orchestrators`
is the registry of runs this process drives, shared by the handle
(`runs.PipelineRun`), the orchestrator and the scheduler.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from ..db.pipeline_models import PipelineRunRow, StepRunRow
from ..errors import InvalidInput, MLOpsError, NotFound
from ..identity import current_actor
from ..workspace import Workspace

if TYPE_CHECKING:
    from .orchestrator import _Orchestrator

log = logging.getLogger("jupyter_mlops.core.pipelines")

RUN_ACTIVE = ("queued", "running")
RUN_DONE = ("succeeded", "failed", "cancelled", "skipped")
STEP_DONE = ("succeeded", "failed", "skipped", "cancelled")
HEARTBEAT_S = 5.0
STALE_AFTER_S = 60.0
PROGRESS_WRITE_S = 0.3
HOST = socket.gethostname()

Listener = Callable[[dict[str, Any]], None]


class PipelineFailed(MLOpsError):
    """A run ended without succeeding (`run.raise_for_status()`)."""

    code = "pipeline_failed"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def new_run_id() -> str:
    """Sortable and readable: it is also the folder name under `.mlops/runs/`."""
    return f"{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[-1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True

#: the runs this process drives (run id → orchestrator thread)
_orchestrators: dict[str, _Orchestrator] = {}


# -- detached views ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StepStatus:
    """One step of a run as stored (a copy: safe across threads and surfaces)."""

    name: str
    status: str
    notebook: str
    depends_on: list[str]
    attempt: int
    max_attempts: int
    parameters: dict[str, Any] | None
    outputs: dict[str, Any] | None
    output_notebook: str | None
    log_path: str | None
    started: datetime | None
    finished: datetime | None
    duration_s: float | None
    cells_done: int
    cells_total: int | None
    current_cell: int | None
    error: dict[str, Any] | None
    mlflow_run_id: str | None

    @classmethod
    def from_row(cls, row: StepRunRow) -> StepStatus:
        error = None
        if row.error_message or row.error_ename:
            error = {"message": row.error_message, "cell_index": row.error_cell_index,
                     "ename": row.error_ename, "evalue": row.error_evalue,
                     "traceback": row.error_traceback}
        return cls(row.name, row.status, row.notebook, list(row.depends_on or []), row.attempt,
                   row.max_attempts, row.parameters, row.outputs, row.output_notebook,
                   row.log_path, as_utc(row.started), as_utc(row.finished), row.duration_s,
                   row.cells_done, row.cells_total, row.current_cell, error, row.mlflow_run_id)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started", "finished"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass(frozen=True)
class RunInfo:
    """A pipeline run as stored, with its steps."""

    id: str
    pipeline: str
    name: str
    status: str
    trigger: str
    trigger_detail: dict[str, Any] | None
    schedule_id: int | None
    scheduled_for: datetime | None
    parameters: dict[str, Any]
    created: datetime
    started: datetime | None
    finished: datetime | None
    error: str | None
    actor: str | None
    mlflow_run_id: str | None
    rerun_of: str | None
    owner: str | None
    cancel_requested: bool
    steps: list[StepStatus] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        if self.started is None:
            return None
        end = self.finished or utcnow()
        return (end - self.started).total_seconds()

    def to_dict(self, *, steps: bool = True) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "steps"}
        for key in ("scheduled_for", "created", "started", "finished"):
            out[key] = out[key].isoformat() if out[key] else None
        out["duration_s"] = self.duration_s
        if steps:
            out["steps"] = [s.to_dict() for s in self.steps]
        return out


def _info(row: PipelineRunRow, steps: list[StepRunRow] | None) -> RunInfo:
    owner = f"{row.owner_host}:{row.owner_pid}" if row.owner_host else None
    return RunInfo(row.id, row.pipeline, row.name, row.status, row.trigger, row.trigger_detail,
                   row.schedule_id, as_utc(row.scheduled_for), dict(row.parameters or {}),
                   as_utc(row.created),  # type: ignore[arg-type]
                   as_utc(row.started), as_utc(row.finished),
                   row.error, row.actor, row.mlflow_run_id, row.rerun_of, owner,
                   bool(row.cancel_requested),
                   [StepStatus.from_row(s) for s in sorted(steps or [], key=lambda s: s.position)])


def get_run_info(run_id: str, workspace: Workspace | None = None) -> RunInfo:
    """A run and its steps as stored (NotFound for an unknown id)."""
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.get(PipelineRunRow, run_id)
        if row is None:
            raise NotFound(f"Pipeline run {run_id!r} not found.", details={"run_id": run_id})
        steps = list(session.scalars(select(StepRunRow).where(StepRunRow.run_id == run_id)))
        return _info(row, steps)


def list_pipeline_runs(workspace: Workspace | None = None, *, pipeline: str | None = None,
                       status: str | None = None, limit: int = 50,
                       before: str | None = None, steps: bool = True) -> list[RunInfo]:
    """Newest first; `before` is a run id to page from."""
    ws = _workspace(workspace)
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit}.")
    query = select(PipelineRunRow).order_by(PipelineRunRow.created.desc(),
                                            PipelineRunRow.id.desc()).limit(limit)
    if pipeline:
        query = query.where(PipelineRunRow.pipeline == pipeline)
    if status:
        query = query.where(PipelineRunRow.status == status)
    with ws.session() as session:
        if before:  # keyset paging on (created, id): the order the list is in
            anchor = session.scalar(select(PipelineRunRow.created).where(
                PipelineRunRow.id == before))
            if anchor is None:
                raise NotFound(f"Pipeline run {before!r} not found (paging 'before').",
                               details={"run_id": before})
            query = query.where(or_(PipelineRunRow.created < anchor,
                                    and_(PipelineRunRow.created == anchor,
                                         PipelineRunRow.id < before)))
        rows = list(session.scalars(query))
        by_run: dict[str, list[StepRunRow]] = {}
        if steps and rows:
            for step in session.scalars(select(StepRunRow).where(
                    StepRunRow.run_id.in_([r.id for r in rows]))):
                by_run.setdefault(step.run_id, []).append(step)
        return [_info(r, by_run.get(r.id, [])) for r in rows]


def _workspace(workspace: Any) -> Workspace:
    from ..workspace import use_workspace

    return use_workspace(workspace)


def _event(workspace: Workspace, kind: str, message: str, subject: str | None,
           data: dict[str, Any], session: Any = None) -> None:
    """Append to the activity log; inside `session` when given (same transaction)."""
    try:
        if session is not None:
            from ..db.models import Event

            session.add(Event(ts=utcnow(), kind=kind, subject=subject, message=message,
                              actor=current_actor(), data=data))
        else:
            from ..events import record_event

            record_event(workspace, kind, message, subject=subject, data=data)
    except Exception:  # the activity log must never fail a run
        log.warning("could not record event %s", kind, exc_info=True)
