"""Pipeline runs: `run_pipeline()`, the orchestrator that drives a run, and its record.

A run is a row in `pipeline_runs` (and one per step in `pipeline_step_runs`)
from the moment it is accepted; the orchestrator — a thread in the process
that started the run (a notebook kernel, the CLI, the server, the scheduler)
— submits ready steps to the executor, passes outputs downstream, applies
retries and timeouts, writes progress as it comes, and keeps a heartbeat.
Any process reads the same rows: `PipelineRun(...).status` in a notebook
shows a run the scheduler started, and `cancel()` from the panel reaches an
orchestrator in another process through the `cancel_requested` flag.

The code is split by what it does: `run_state` (the stored record, views,
listing), `orchestrator` (the thread that drives a run), and this module (the
handle, creating and re-running runs, reconciliation); every name stays
importable from here.

A run whose orchestrator died (its process killed, its machine gone) is
found by `reconcile_orphans()`: same host and a dead pid, or a heartbeat
older than `STALE_AFTER_S`; it is marked failed with the reason.
"""

from __future__ import annotations

import hashlib
import html
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..db.pipeline_models import LeaseRow, PipelineRunRow, StepRunRow
from ..errors import Conflict, MLOpsError, NotFound
from ..identity import current_actor
from ..workspace import Workspace
from .executor import Executor, get_executor
from .graph import build_graph
from .orchestrator import _Orchestrator
from .run_state import (
    HEARTBEAT_S,
    HOST,
    PROGRESS_WRITE_S,
    RUN_ACTIVE,
    RUN_DONE,
    STALE_AFTER_S,
    STEP_DONE,
    Listener,
    PipelineFailed,
    RunInfo,
    StepStatus,
    _event,
    _info,
    _orchestrators,
    _workspace,
    as_utc,
    get_run_info,
    list_pipeline_runs,
    log,
    new_run_id,
    pid_alive,
    utcnow,
)
from .spec import (
    PipelineSpec,
    build_spec,
    check_notebook_paths,
    load_spec,
    resolve_run_parameters,
)

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


__all__ = [
    "HEARTBEAT_S",
    "HOST",
    "PROGRESS_WRITE_S",
    "RUN_ACTIVE",
    "RUN_DONE",
    "STALE_AFTER_S",
    "STEP_DONE",
    "PipelineFailed",
    "PipelineRun",
    "RunInfo",
    "StepStatus",
    "_info",
    "_orchestrators",
    "active_runs",
    "admit_run",
    "as_utc",
    "cancel_pipeline_run",
    "create_run_record",
    "get_run_info",
    "launch_run",
    "list_pipeline_runs",
    "log",
    "new_run_id",
    "pid_alive",
    "reconcile_orphans",
    "rerun_pipeline_run",
    "run_pipeline",
    "spec_from_snapshot",
    "spec_snapshot",
    "utcnow",
]
