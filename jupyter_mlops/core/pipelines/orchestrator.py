"""The orchestrator: the thread that drives one run in the process that started it.

It submits ready steps to the executor, passes outputs downstream, applies
retries and timeouts, writes progress as it comes (at most every
`PROGRESS_WRITE_S`), keeps a heartbeat, and notices a cancel requested from
any process through the run's `cancel_requested` flag.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ..db.pipeline_models import PipelineRunRow, StepRunRow
from ..errors import MLOpsError
from ..workspace import Workspace
from .executor import Executor, StepHandle
from .graph import build_graph
from .mlflow_runs import PipelineTracker
from .run_state import (
    HEARTBEAT_S,
    HOST,
    PROGRESS_WRITE_S,
    RUN_DONE,
    STEP_DONE,
    Listener,
    _event,
    _orchestrators,
    log,
    utcnow,
)
from .spec import PipelineSpec, check_notebook_paths, resolve_step_parameters
from .step_runner import StepResult, StepTask

# -- the orchestrator -----------------------------------------------------------------------------


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
