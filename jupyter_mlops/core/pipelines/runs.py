"""Pipeline runs: `run_pipeline()`, the orchestrator that drives a run, and its record.

A run is a row in `pipeline_runs` (and one per step in `pipeline_step_runs`)
from the moment it is accepted; the orchestrator — a thread in the process
that started the run (a notebook kernel, the CLI, the server, the scheduler)
— submits ready steps to the executor, passes outputs downstream, applies
retries and timeouts, writes progress as it comes, and keeps a heartbeat.
Any process reads the same rows: `PipelineRun(...).status` in a notebook
shows a run the scheduler started, and `cancel()` from the panel reaches an
orchestrator in another process through the `cancel_requested` flag.

A run whose orchestrator died (its process killed, its machine gone) is
found by `reconcile_orphans()`: same host and a dead pid, or a heartbeat
older than `STALE_AFTER_S`; it is marked failed with the reason.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..db.pipeline_models import LeaseRow, PipelineRunRow, StepRunRow
from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from ..identity import current_actor
from ..workspace import Workspace
from .executor import Executor, StepHandle, get_executor
from .graph import build_graph
from .mlflow_runs import PipelineTracker
from .spec import (
    PipelineSpec,
    build_spec,
    check_notebook_paths,
    load_spec,
    resolve_run_parameters,
    resolve_step_parameters,
)
from .step_runner import StepResult, StepTask

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
    if before:
        query = query.where(PipelineRunRow.id < before)
    with ws.session() as session:
        rows = list(session.scalars(query))
        by_run: dict[str, list[StepRunRow]] = {}
        if steps and rows:
            for step in session.scalars(select(StepRunRow).where(
                    StepRunRow.run_id.in_([r.id for r in rows]))):
                by_run.setdefault(step.run_id, []).append(step)
        return [_info(r, by_run.get(r.id, [])) for r in rows]


# -- the handle users hold --------------------------------------------------------------------
class PipelineRun:
    """A run of a pipeline: `.id`, `.status`, `.steps`, `.wait()`, `.cancel()`.

    Reads the state database on each access, so it shows the same truth in
    every process.
    """

    def __init__(self, run_id: str, workspace: Workspace | None = None) -> None:
        self.id = run_id
        self.workspace = _workspace(workspace)

    def info(self) -> RunInfo:
        return get_run_info(self.id, self.workspace)

    @property
    def status(self) -> str:
        with self.workspace.session() as session:
            status = session.scalar(select(PipelineRunRow.status).where(
                PipelineRunRow.id == self.id))
        if status is None:
            raise NotFound(f"Pipeline run {self.id!r} not found.")
        return status

    @property
    def steps(self) -> list[StepStatus]:
        return self.info().steps

    def step(self, name: str) -> StepStatus:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFound(f"Run {self.id} has no step {name!r}.")

    @property
    def error(self) -> str | None:
        return self.info().error

    @property
    def parameters(self) -> dict[str, Any]:
        return self.info().parameters

    @property
    def folder(self) -> Path:
        return self.workspace.runs_dir / self.id

    @property
    def done(self) -> bool:
        return self.status in RUN_DONE

    def wait(self, timeout: float | None = None) -> PipelineRun:
        """Block until the run ends (Ctrl-C / a kernel interrupt cancels it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        orchestrator = _orchestrators.get(self.id)
        try:
            while True:
                if orchestrator is not None:
                    orchestrator.finished.wait(0.2)
                    if orchestrator.finished.is_set():
                        return self
                elif self.status in RUN_DONE:
                    return self
                else:
                    time.sleep(0.2)
                if deadline is not None and time.monotonic() >= deadline:
                    return self
        except KeyboardInterrupt:
            self.cancel("interrupted")
            if orchestrator is not None:
                orchestrator.finished.wait(10)
            raise

    def cancel(self, reason: str = "cancelled by the user") -> None:
        """Stop the run: running kernels are killed, steps not started never start."""
        with self.workspace.session() as session:
            row = session.get(PipelineRunRow, self.id)
            if row is None:
                raise NotFound(f"Pipeline run {self.id!r} not found.")
            if row.status in RUN_DONE:
                return
            row.cancel_requested = True
            if row.status == "queued" and self.id not in _orchestrators:
                _finish_unstarted(session, row, "cancelled", reason)
        orchestrator = _orchestrators.get(self.id)
        if orchestrator is not None:
            orchestrator.request_cancel(reason)

    def raise_for_status(self) -> PipelineRun:
        info = self.info()
        if info.status != "succeeded":
            raise PipelineFailed(f"Pipeline run {self.id} {info.status}: "
                                 f"{info.error or 'no detail'}",
                                 details={"run_id": self.id, "status": info.status})
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.info().to_dict()

    def __repr__(self) -> str:
        try:
            return f"<PipelineRun {self.id} {self.status}>"
        except MLOpsError:
            return f"<PipelineRun {self.id}>"

    def _repr_html_(self) -> str:
        info = self.info()
        rows = "".join(
            f"<tr><td>{html.escape(s.name)}</td><td>{html.escape(s.status)}</td>"
            f"<td>{s.cells_done}/{s.cells_total if s.cells_total is not None else '?'}</td>"
            f"<td>{'' if s.duration_s is None else f'{s.duration_s:.1f}s'}</td>"
            f"<td>{html.escape(s.output_notebook or '')}</td>"
            f"<td>{html.escape((s.error or {}).get('message') or '')}</td></tr>"
            for s in info.steps)
        return (f"<div class='jp-mlops-pipeline-run'><b>{html.escape(info.name)}</b> run "
                f"<code>{info.id}</code>: <b>{info.status}</b>"
                f"{' — ' + html.escape(info.error) if info.error else ''}"
                f"<table><tr><th>step</th><th>status</th><th>cells</th><th>time</th>"
                f"<th>output notebook</th><th>error</th></tr>{rows}</table></div>")


def _workspace(workspace: Workspace | None) -> Workspace:
    if workspace is not None:
        return workspace
    from jupyter_mlops import workspace as current

    return current()


# -- creating runs ----------------------------------------------------------------------------
def spec_snapshot(spec: PipelineSpec) -> dict[str, Any]:
    """What a run keeps of its spec: enough to re-run it after the file changed."""
    return {"spec": spec.model_dump(mode="json", exclude_unset=True), "origin": spec.origin,
            "key": spec.key, "source": str(spec.source) if spec.source else None}


def spec_from_snapshot(data: Mapping[str, Any]) -> PipelineSpec:
    spec = PipelineSpec.model_validate(dict(data["spec"])) if data.get("origin") == "notebook" \
        else build_spec(dict(data["spec"]))
    spec._origin = data.get("origin") or "spec"
    spec._key = data.get("key")
    spec._source = Path(data["source"]) if data.get("source") else None
    return spec


def _lock_pipeline(session: Any, key: str) -> None:
    """Serialise run creation per pipeline (a row lock; the write lock on SQLite)."""
    name = f"start:{hashlib.sha1(key.encode()).hexdigest()[:40]}"
    now = utcnow()
    changed = session.execute(update(LeaseRow).where(LeaseRow.name == name).values(
        holder=f"{HOST}:{os.getpid()}", acquired=now, expires=now)).rowcount
    if not changed:
        try:
            with session.begin_nested():
                session.add(LeaseRow(name=name, holder=f"{HOST}:{os.getpid()}", acquired=now,
                                     expires=now))
        except IntegrityError:
            session.execute(update(LeaseRow).where(LeaseRow.name == name).values(acquired=now))


def create_run_record(session: Any, workspace: Workspace, spec: PipelineSpec,
                      parameters: dict[str, Any], *, trigger: str = "manual",
                      trigger_detail: dict[str, Any] | None = None,
                      schedule_id: int | None = None, scheduled_for: datetime | None = None,
                      status: str = "queued", error: str | None = None,
                      rerun_of: str | None = None, actor: str | None = None,
                      owner: bool = True) -> PipelineRunRow:
    """Insert a run and its pending steps in `session` (the caller commits)."""
    graph = build_graph(spec)
    now = utcnow()
    row = PipelineRunRow(
        id=new_run_id(), pipeline=spec.key, name=spec.name or spec.key, status=status,
        trigger=trigger, trigger_detail=trigger_detail, schedule_id=schedule_id,
        scheduled_for=scheduled_for, parameters=parameters, spec=spec_snapshot(spec),
        created=now, heartbeat=now if owner else None,
        owner_host=HOST if owner else None, owner_pid=os.getpid() if owner else None,
        cancel_requested=False, error=error, actor=actor or current_actor(), rerun_of=rerun_of)
    if status in RUN_DONE:
        row.finished = now
    session.add(row)
    session.flush()
    if status not in RUN_DONE:
        for position, name in enumerate(graph.order()):
            step = spec.step(name)
            session.add(StepRunRow(
                run_id=row.id, name=name, position=position, notebook=step.notebook,
                depends_on=graph.upstream[name], status="pending", attempt=0,
                max_attempts=step.retries + 1, cells_done=0))
    return row


def active_runs(session: Any, pipeline: str) -> list[PipelineRunRow]:
    return list(session.scalars(select(PipelineRunRow).where(
        PipelineRunRow.pipeline == pipeline, PipelineRunRow.status.in_(RUN_ACTIVE))))


def admit_run(session: Any, workspace: Workspace, spec: PipelineSpec,
              parameters: dict[str, Any], **kwargs: Any) -> tuple[PipelineRunRow, list[str]]:
    """Create a run if the concurrency policy allows it; returns (row, runs to cancel).

    `forbid` raises Conflict naming the active run; `replace` returns the active
    runs, already flagged for cancellation, so the caller can stop local ones.
    """
    _lock_pipeline(session, spec.key)
    reconcile_orphans(workspace, session=session, pipeline=spec.key)
    active = active_runs(session, spec.key)
    to_cancel: list[str] = []
    if active and spec.concurrency == "forbid":
        current = active[0]
        raise Conflict(
            f"Pipeline {spec.name!r} already has an active run {current.id} "
            f"({current.status}); its concurrency policy is 'forbid'. Wait for it, cancel it, "
            f"or set concurrency: allow / replace.",
            details={"run_id": current.id, "pipeline": spec.key})
    if active and spec.concurrency == "replace":
        for other in active:
            other.cancel_requested = True
            to_cancel.append(other.id)
            if other.status == "queued" and other.id not in _orchestrators:
                _finish_unstarted(session, other, "cancelled", "replaced by a newer run")
    row = create_run_record(session, workspace, spec, parameters, **kwargs)
    return row, to_cancel


def _finish_unstarted(session: Any, row: PipelineRunRow, status: str, reason: str) -> None:
    now = utcnow()
    row.status = status
    row.finished = now
    row.error = reason
    session.execute(update(StepRunRow).where(
        StepRunRow.run_id == row.id, StepRunRow.status.in_(("pending", "queued"))).values(
        status="cancelled" if status == "cancelled" else "skipped", finished=now,
        error_message=reason))


def run_pipeline(pipeline: str | os.PathLike[str] | PipelineSpec | Mapping[str, Any],
                 parameters: Mapping[str, Any] | None = None, wait: bool = True, *,
                 workspace: Workspace | None = None, executor: Executor | str | None = None,
                 trigger: str = "manual", trigger_detail: dict[str, Any] | None = None,
                 on_event: Listener | None = None, track: bool = True) -> PipelineRun:
    """Run a pipeline spec (`train.pipeline.yaml`) or a notebook (a one-step pipeline).

    `parameters` are checked against the spec (unknown names are refused, naming
    the known ones; strings are parsed to the declared types). With `wait=False`
    the run goes on in a background thread of this process; `PipelineRun.wait()`
    joins it. `on_event` receives step and cell progress as dicts.
    """
    ws = _workspace(workspace)
    spec = load_spec(pipeline, ws)
    params = resolve_run_parameters(spec, parameters)
    exe = executor if isinstance(executor, Executor) else get_executor(executor)
    with ws.session() as session:
        row, to_cancel = admit_run(session, ws, spec, params, trigger=trigger,
                                   trigger_detail=trigger_detail)
        run_id = row.id
    for other in to_cancel:
        orchestrator = _orchestrators.get(other)
        if orchestrator is not None:
            orchestrator.request_cancel(f"replaced by run {run_id}")
    run = launch_run(ws, run_id, spec, params, executor=exe, listeners=[on_event] if on_event
                     else [], track=track)
    if wait:
        run.wait()
    return run


def launch_run(workspace: Workspace, run_id: str, spec: PipelineSpec | None = None,
               parameters: dict[str, Any] | None = None, *, executor: Executor | None = None,
               listeners: list[Listener] | None = None, track: bool = True) -> PipelineRun:
    """Start the orchestrator of a created (queued) run in a thread of this process."""
    if spec is None or parameters is None:
        with workspace.session() as session:
            row = session.get(PipelineRunRow, run_id)
            if row is None:
                raise NotFound(f"Pipeline run {run_id!r} not found.")
            spec = spec or spec_from_snapshot(row.spec or {})
            parameters = parameters if parameters is not None else dict(row.parameters or {})
            row.owner_host, row.owner_pid, row.heartbeat = HOST, os.getpid(), utcnow()
    orchestrator = _Orchestrator(workspace, run_id, spec, parameters,
                                 executor or get_executor(), listeners or [], track)
    _orchestrators[run_id] = orchestrator
    orchestrator.start()
    return PipelineRun(run_id, workspace)


def cancel_pipeline_run(run_id: str, workspace: Workspace | None = None,
                        reason: str = "cancelled by the user") -> PipelineRun:
    run = PipelineRun(run_id, workspace)
    run.cancel(reason)
    return run


def rerun_pipeline_run(run_id: str, workspace: Workspace | None = None, *, wait: bool = False,
                       executor: Executor | str | None = None,
                       parameters: Mapping[str, Any] | None = None) -> PipelineRun:
    """Run again with the same spec (as it was then) and the same parameters."""
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.get(PipelineRunRow, run_id)
        if row is None:
            raise NotFound(f"Pipeline run {run_id!r} not found.")
        spec = spec_from_snapshot(row.spec or {})
        params = dict(row.parameters or {})
    if parameters:
        params.update(resolve_run_parameters(spec, {**params, **parameters}))
    check_notebook_paths(spec, ws)
    exe = executor if isinstance(executor, Executor) else get_executor(executor)
    with ws.session() as session:
        new, _ = admit_run(session, ws, spec, params, trigger="rerun",
                           trigger_detail={"rerun_of": run_id}, rerun_of=run_id)
        new_id = new.id
    run = launch_run(ws, new_id, spec, params, executor=exe)
    if wait:
        run.wait()
    return run


# -- reconciliation -----------------------------------------------------------------------------
def _orphan_reason(row: PipelineRunRow, now: datetime, stale_after: float) -> str | None:
    if row.id in _orchestrators and row.owner_pid == os.getpid() and row.owner_host == HOST:
        return None
    beat = as_utc(row.heartbeat) or as_utc(row.created)
    if row.owner_host == HOST and row.owner_pid:
        if not pid_alive(row.owner_pid):
            return f"its runner process (pid {row.owner_pid} on {row.owner_host}) is gone"
        if (row.owner_pid == os.getpid() and row.id not in _orchestrators and beat is not None
                and (now - beat).total_seconds() > 10):  # (not one being launched right now)
            return f"its runner thread in this process (pid {row.owner_pid}) is gone"
    if beat is not None and (now - beat).total_seconds() > stale_after:
        owner = f"pid {row.owner_pid} on {row.owner_host}" if row.owner_host else "no runner"
        return (f"its runner ({owner}) has not reported for "
                f"{(now - beat).total_seconds():.0f} s")
    return None


def reconcile_orphans(workspace: Workspace, *, session: Any = None, pipeline: str | None = None,
                      stale_after: float = STALE_AFTER_S, by: str | None = None) -> list[str]:
    """Mark failed the active runs whose runner died; returns their ids."""
    if session is None:
        with workspace.session() as own:
            return reconcile_orphans(workspace, session=own, pipeline=pipeline,
                                     stale_after=stale_after, by=by)
    query = select(PipelineRunRow).where(PipelineRunRow.status.in_(RUN_ACTIVE))
    if pipeline is not None:
        query = query.where(PipelineRunRow.pipeline == pipeline)
    now = utcnow()
    done: list[str] = []
    for row in session.scalars(query):
        if row.owner_host is None and row.status == "queued":
            continue  # created by a scheduler for later: not orphaned, just waiting
        reason = _orphan_reason(row, now, stale_after)
        if reason is None:
            continue
        steps = list(session.scalars(select(StepRunRow).where(StepRunRow.run_id == row.id)))
        running = [s.name for s in steps if s.status in ("running", "queued")]
        where = f" while step {', '.join(running)} was running" if running else ""
        message = (f"Reconciled: the run was left {row.status}{where}; {reason}. Marked failed"
                   f"{' by ' + by if by else ''} at {now:%Y-%m-%d %H:%M:%S} UTC.")
        row.status = "failed"
        row.finished = now
        row.error = message
        for step in steps:
            if step.status in ("running", "queued"):
                step.status = "failed"
                step.finished = now
                step.error_message = f"the runner process died while this step was running " \
                                     f"({reason})"
                step.error_ename = "RunnerDied"
                step.error_evalue = reason
            elif step.status == "pending":
                step.status = "skipped"
                step.finished = now
                step.error_message = "skipped: the run was reconciled after its runner died"
        done.append(row.id)
        _event(workspace, "pipeline.reconciled", f"{row.name} run {row.id} reconciled: {reason}",
               row.pipeline, {"run_id": row.id, "reason": reason}, session=session)
    return done


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


# -- the orchestrator -----------------------------------------------------------------------------
_orchestrators: dict[str, _Orchestrator] = {}


class _Orchestrator(threading.Thread):
    """Drives one run: dispatch ready steps, follow their events, finish the run."""

    def __init__(self, ws: Workspace, run_id: str, spec: PipelineSpec, params: dict[str, Any],
                 executor: Executor, listeners: list[Listener], track: bool) -> None:
        super().__init__(name=f"mlops-run-{run_id}", daemon=True)
        self.ws = ws
        self.run_id = run_id
        self.spec = spec
        self.params = params
        self.executor = executor
        self.listeners = listeners
        self.graph = build_graph(spec)
        self.events: queue.Queue[tuple[StepHandle, str, dict[str, Any]]] = queue.Queue()
        self.finished = threading.Event()
        self.state: dict[str, str] = {name: "pending" for name in self.graph.order()}
        self.attempts: dict[str, int] = {name: 0 for name in self.graph.order()}
        self.handles: dict[str, StepHandle] = {}
        self.mlflow_ids: dict[str, str | None] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.timed_out: set[str] = set()
        self.cancel_reason: str | None = None
        self._last_progress: dict[str, float] = {}
        self._progress: dict[str, dict[str, Any]] = {}
        self._progress_dirty: set[str] = set()
        self.run_dir = ws.runs_dir / run_id
        self.tracker = PipelineTracker(ws, pipeline=spec.name or spec.key, pipeline_key=spec.key,
                                       run_id=run_id, parameters=params, trigger="",
                                       enabled=track)
        self.notebooks: dict[str, Path] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def request_cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.events.put((None, "cancel", {}))  # type: ignore[arg-type]

    def _notify(self, event: dict[str, Any]) -> None:
        event = {"run_id": self.run_id, **event}
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.debug("listener failed", exc_info=True)

    def _on_event(self, handle: StepHandle, event: str, data: dict[str, Any]) -> None:
        self.events.put((handle, event, data))

    def _update_run(self, **values: Any) -> None:
        with self.ws.session() as session:
            session.execute(update(PipelineRunRow).where(PipelineRunRow.id == self.run_id)
                            .values(**values))

    def _update_step(self, name: str, **values: Any) -> None:
        with self.ws.session() as session:
            session.execute(update(StepRunRow).where(StepRunRow.run_id == self.run_id,
                                                     StepRunRow.name == name).values(**values))

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.ws.root).as_posix()
        except ValueError:
            return str(path)

    # -- main loop --------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - a run must end in a final state
            log.exception("pipeline run %s failed in the orchestrator", self.run_id)
            try:
                self._abort_all(f"internal error in the runner: {type(exc).__name__}: {exc}")
            except Exception:
                pass
        finally:
            _orchestrators.pop(self.run_id, None)
            self.finished.set()

    def _run(self) -> None:
        with self.ws.session() as session:
            row = session.get(PipelineRunRow, self.run_id)
            if row is None:
                return
            if row.status in RUN_DONE:
                return
            self.tracker.trigger = row.trigger
            if row.cancel_requested:
                self.cancel_reason = self.cancel_reason or "cancelled before it started"
        try:
            self.notebooks = check_notebook_paths(self.spec, self.ws)
        except MLOpsError as exc:
            self._abort_all(exc.message)
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        now = utcnow()
        self._update_run(status="running", started=now, heartbeat=now, owner_host=HOST,
                         owner_pid=os.getpid())
        self._notify({"type": "run", "status": "running",
                      "steps": list(self.graph.order())})
        if self.cancel_reason is None and self.tracker.start():
            self._update_run(mlflow_run_id=self.tracker.parent_id)
        last_beat = last_check = time.monotonic()
        while True:
            if self.cancel_reason is not None:
                self._cancel_pending()
            else:
                for name in self.graph.order():
                    if self.state[name] == "pending" and all(
                            self.state[d] == "succeeded" for d in self.graph.upstream[name]):
                        self._launch(name)
            if all(s in STEP_DONE for s in self.state.values()):
                break
            try:
                handle, event, data = self.events.get(timeout=0.2)
                self._handle(handle, event, data)
                while True:  # drain what is already there before the periodic work
                    handle, event, data = self.events.get_nowait()
                    self._handle(handle, event, data)
            except queue.Empty:
                pass
            now_m = time.monotonic()
            self._flush_progress()
            self._check_timeouts(now_m)
            if now_m - last_check >= 1.0:
                last_check = now_m
                beat = now_m - last_beat >= HEARTBEAT_S
                self._poll_db(beat)
                if beat:
                    last_beat = now_m
        self._finish()

    def _poll_db(self, beat: bool) -> None:
        with self.ws.session() as session:
            row = session.get(PipelineRunRow, self.run_id)
            if row is not None and row.cancel_requested and self.cancel_reason is None:
                self.cancel_reason = "cancelled by the user"
                self.events.put((None, "cancel", {}))  # type: ignore[arg-type]
            if beat and row is not None:
                row.heartbeat = utcnow()

    def _check_timeouts(self, now: float) -> None:
        for name, handle in list(self.handles.items()):
            timeout = self.spec.step(name).timeout
            if (timeout and handle.started is not None and not handle.done
                    and name not in self.timed_out and now - handle.started > timeout):
                self.timed_out.add(name)
                handle.cancel("timeout")

    # -- steps ------------------------------------------------------------------------------
    def _launch(self, name: str) -> None:
        step = self.spec.step(name)
        self.attempts[name] += 1
        attempt = self.attempts[name]
        self.timed_out.discard(name)
        try:
            params = resolve_step_parameters(self.spec, step, self.params, self.outputs)
        except MLOpsError as exc:
            self.state[name] = "failed"
            now = utcnow()
            self._update_step(name, status="failed", attempt=attempt, started=now, finished=now,
                              error_message=exc.message, error_ename="MissingInput",
                              error_evalue=exc.message)
            self._notify({"type": "step", "step": name, "status": "failed",
                          "error": exc.message})
            self._skip_descendants(name)
            return
        notebook = self.notebooks[name]
        output = self.run_dir / f"{name}.ipynb"
        if attempt > 1 and output.exists():
            output.replace(self.run_dir / f"{name}.attempt{attempt - 1}.ipynb")
        log_path = self.run_dir / f"{name}.log"
        outputs_path = self.run_dir / f"{name}.outputs.json"
        mlflow_id = self.tracker.start_step(name, attempt, params, notebook, output)
        self.mlflow_ids[name] = mlflow_id
        env: dict[str, str | None] = {}
        self.ws.export_environ(env)  # type: ignore[arg-type]
        env.update({"JUPYTER_MLOPS_PARENT_RUN_ID": mlflow_id,
                    "JUPYTER_MLOPS_NOTEBOOK": str(notebook),
                    "JUPYTER_MLOPS_OUTPUT_NOTEBOOK": str(output),
                    "JUPYTER_MLOPS_PIPELINE_RUN_ID": self.run_id,
                    "JUPYTER_MLOPS_STEP": name})
        task = StepTask(task_id=f"{self.run_id}:{name}:{attempt}", run_id=self.run_id, step=name,
                        attempt=attempt, notebook=str(notebook), output_notebook=str(output),
                        log_path=str(log_path), outputs_path=str(outputs_path),
                        cwd=str(notebook.parent), parameters=params, kernel=step.kernel, env=env)
        self.state[name] = "queued"
        self._update_step(name, status="queued", attempt=attempt, parameters=params,
                          output_notebook=self._rel(output), log_path=self._rel(log_path),
                          mlflow_run_id=mlflow_id, cells_done=0, cells_total=None,
                          current_cell=None, error_message=None, error_cell_index=None,
                          error_ename=None, error_evalue=None, error_traceback=None,
                          started=None, finished=None, duration_s=None)
        self._notify({"type": "step", "step": name, "status": "queued", "attempt": attempt})
        self.handles[name] = self.executor.submit(task, self._on_event)

    def _handle(self, handle: StepHandle | None, event: str, data: dict[str, Any]) -> None:
        if handle is None:  # a cancel request woke us up
            return
        name = handle.task.step
        if self.handles.get(name) is not handle:
            return  # a late event of an earlier attempt
        if event == "started":
            self.state[name] = "running"
            self._update_step(name, status="running", started=utcnow(),
                              kernel_pid=data.get("kernel_pid"))
            self._notify({"type": "step", "step": name, "status": "running",
                          "attempt": handle.task.attempt})
        elif event == "progress":
            progress = {"cells_done": data.get("cells_done") or 0,
                        "cells_total": data.get("cells_total"),
                        "current_cell": data.get("current_cell")}
            self._progress[name] = progress
            self._progress_dirty.add(name)
            self._flush_progress()
            self._notify({"type": "progress", "step": name, **progress})
        elif event == "result":
            result = handle.result or StepResult.from_dict(data)
            self._finish_step(name, handle, result)

    def _flush_progress(self) -> None:
        """Write the latest progress of each step, at most every PROGRESS_WRITE_S (the last
        state of a burst is written when the window passes, never dropped)."""
        now = time.monotonic()
        for name in list(self._progress_dirty):
            if now - self._last_progress.get(name, 0.0) >= PROGRESS_WRITE_S:
                self._progress_dirty.discard(name)
                self._last_progress[name] = now
                if self.state.get(name) in ("queued", "running"):
                    self._update_step(name, progress_updated=utcnow(), **self._progress[name])

    def _finish_step(self, name: str, handle: StepHandle, result: StepResult) -> None:
        step = self.spec.step(name)
        del self.handles[name]
        self._progress_dirty.discard(name)
        finished = utcnow()
        common = {"finished": finished, "cells_done": result.cells_done,
                  "cells_total": result.cells_total, "current_cell": result.current_cell,
                  "duration_s": round(result.finished - result.started, 4)
                  if result.started and result.finished else None,
                  "progress_updated": finished}
        output = self.run_dir / f"{name}.ipynb"
        log_path = self.run_dir / f"{name}.log"
        if result.status == "succeeded":
            self.state[name] = "succeeded"
            self.outputs[name] = result.outputs
            self._update_step(name, status="succeeded", outputs=result.outputs, **common)
            self.tracker.end_step(self.mlflow_ids.get(name), "succeeded", output, log_path,
                                  result.outputs)
            self._notify({"type": "step", "step": name, "status": "succeeded",
                          "outputs": result.outputs, "duration_s": common["duration_s"]})
            return
        error = result.error
        message = error.message if error else "the step failed"
        ename = error.ename if error else None
        evalue = error.evalue if error else None
        cancelled = self.cancel_reason is not None and name not in self.timed_out
        if name in self.timed_out:
            where = (f" while running cell {result.current_cell}"
                     if result.current_cell is not None else "")
            message = f"timed out after {step.timeout:g} s; the kernel was killed{where}"
            ename, evalue = "Timeout", message
        elif cancelled:
            message = f"cancelled: {self.cancel_reason}"
            ename, evalue = "Cancelled", self.cancel_reason
        status = "cancelled" if cancelled else "failed"
        error_fields = {
            "error_message": message, "error_ename": ename, "error_evalue": evalue,
            "error_traceback": error.traceback if error and not cancelled else None,
            "error_cell_index": (error.cell_index if error and error.cell_index is not None
                                 else result.current_cell)}
        self.tracker.end_step(self.mlflow_ids.get(name), status, output, log_path,
                              result.outputs or None)
        if status == "failed" and self.attempts[name] < step.retries + 1 \
                and self.cancel_reason is None:
            self._update_step(name, status="pending", **common, **error_fields)
            _event(self.ws, "pipeline.step.retry",
                   f"{self.spec.name} run {self.run_id}: step {name} attempt "
                   f"{self.attempts[name]} failed ({message}); retrying", self.spec.key,
                   {"run_id": self.run_id, "step": name, "attempt": self.attempts[name]})
            self._notify({"type": "step", "step": name, "status": "retrying",
                          "attempt": self.attempts[name], "error": message})
            self.state[name] = "pending"  # launched again by the main loop
            return
        self.state[name] = status
        self._update_step(name, status=status, **common, **error_fields)
        self._notify({"type": "step", "step": name, "status": status, "error": message,
                      "cell_index": error_fields["error_cell_index"], "ename": ename,
                      "evalue": evalue})
        self._skip_descendants(name)

    def _skip_descendants(self, name: str) -> None:
        now = utcnow()
        for other in self.graph.descendants(name):
            if self.state[other] == "pending":
                self.state[other] = "skipped"
                reason = f"skipped: upstream step {name!r} {self.state[name]}"
                self._update_step(other, status="skipped", finished=now, error_message=reason)
                self._notify({"type": "step", "step": other, "status": "skipped",
                              "error": reason})

    def _cancel_pending(self) -> None:
        now = utcnow()
        for name, state in self.state.items():
            if state == "pending":
                self.state[name] = "cancelled"
                self._update_step(name, status="cancelled", finished=now,
                                  error_message=f"cancelled: {self.cancel_reason}")
                self._notify({"type": "step", "step": name, "status": "cancelled"})
        for handle in list(self.handles.values()):
            if handle.cancel_reason is None:
                handle.cancel(self.cancel_reason or "cancelled")

    # -- ending -----------------------------------------------------------------------------
    def _abort_all(self, reason: str) -> None:
        for handle in list(self.handles.values()):
            handle.cancel(reason)
        now = utcnow()
        with self.ws.session() as session:
            session.execute(update(StepRunRow).where(
                StepRunRow.run_id == self.run_id, StepRunRow.status.notin_(STEP_DONE)).values(
                status="skipped", finished=now, error_message=f"skipped: {reason}"))
            session.execute(update(PipelineRunRow).where(PipelineRunRow.id == self.run_id).values(
                status="failed", finished=now, error=reason))
        self.tracker.end("failed")
        self._notify({"type": "run", "status": "failed", "error": reason})

    def _finish(self) -> None:
        states = self.state
        if all(s == "succeeded" for s in states.values()):
            status, error = "succeeded", None
        elif self.cancel_reason is not None and not any(s == "failed" for s in states.values()):
            status, error = "cancelled", f"cancelled: {self.cancel_reason}"
        else:
            status = "failed"
            failed = [n for n in self.graph.order() if states[n] == "failed"]
            with self.ws.session() as session:
                messages = dict(session.execute(select(StepRunRow.name, StepRunRow.error_message)
                                                .where(StepRunRow.run_id == self.run_id,
                                                       StepRunRow.name.in_(failed))).all())
            error = "; ".join(f"step {n!r} failed: {messages.get(n) or 'no detail'}"
                              for n in failed) or "failed"
        if self.tracker.error:
            error = f"{error + ' · ' if error else ''}{self.tracker.error}"
        self._update_run(status=status, finished=utcnow(), error=error)
        self.tracker.end(status)
        _event(self.ws, "pipeline.run", f"{self.spec.name} run {self.run_id} {status}",
               self.spec.key, {"run_id": self.run_id, "status": status})
        self._notify({"type": "run", "status": status, "error": error})


def _at_exit() -> None:
    """A runner that exits (not killed) cancels its runs instead of leaving them running."""
    for orchestrator in list(_orchestrators.values()):
        orchestrator.request_cancel("the runner process exited")
    deadline = time.monotonic() + 8.0
    for orchestrator in list(_orchestrators.values()):
        orchestrator.finished.wait(max(0.0, deadline - time.monotonic()))


atexit.register(_at_exit)

__all__ = [
    "PipelineFailed",
    "PipelineRun",
    "RunInfo",
    "StepStatus",
    "cancel_pipeline_run",
    "get_run_info",
    "launch_run",
    "list_pipeline_runs",
    "reconcile_orphans",
    "rerun_pipeline_run",
    "run_pipeline",
]
