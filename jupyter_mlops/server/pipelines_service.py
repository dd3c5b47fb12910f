"""Pipelines inside the Jupyter server: one executor for every run it starts, and the scheduler.

Runs started over REST and runs the in-server scheduler fires go through the
same executor (the process-wide one `get_executor()` hands out), so cancel
from the panel reaches the kernel whichever started the run. The executor's
worker processes are spawned on first need, never at server start: a server
nobody runs pipelines on pays nothing for them.

The scheduler (when `c.MLOps.run_scheduler` is on) ticks every second while a
schedule, a trigger subscription or a queued run exists and every
`IDLE_TICK_S` seconds otherwise; REST changes to schedules wake it at once.
Stopping the server stops the scheduler, cancels the runs this process
drives, and shuts the workers and their kernels down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..core.pipelines.executor import Executor, get_executor
from ..core.workspace import Workspace

log = logging.getLogger("jupyter_mlops.server.pipelines")

#: settings key under which handlers find the `PipelinesService`
PIPELINES_SETTING = "mlops_pipelines"
TICK_S = 1.0
IDLE_TICK_S = 5.0
#: how long stopping waits for cancelled runs to record their end
STOP_WAIT_S = 8.0


class PipelinesService:
    """What the pipelines handlers share: the executor and (maybe) the scheduler."""

    def __init__(self, workspace: Workspace, *, run_scheduler: bool,
                 executor: str | None = None) -> None:
        self.workspace = workspace
        self._executor_name = executor
        self._executor: Executor | None = None
        self.scheduler: Any = None
        if run_scheduler:
            from ..core.pipelines.scheduler import Scheduler

            self.scheduler = Scheduler(workspace, executor=self._shared_executor_name(),
                                       tick=TICK_S, idle_tick=IDLE_TICK_S,
                                       warm_executor="when_scheduled")

    def _shared_executor_name(self) -> str | None:
        return self._executor_name

    @property
    def executor(self) -> Executor:
        """The process-wide executor (its workers spawned on the first call)."""
        if self._executor is None or getattr(self._executor, "_closed", False):
            self._executor = get_executor(self._executor_name)
        return self._executor

    def start(self) -> PipelinesService:
        if self.scheduler is not None:
            self.scheduler.start()
        return self

    def wake(self) -> None:
        """A schedule changed: let the scheduler look now rather than at its next tick."""
        if self.scheduler is not None:
            self.scheduler.wake()

    def stop(self) -> None:
        """Stop the scheduler, cancel this process's runs, shut workers and kernels down."""
        from ..core.pipelines import runs

        if self.scheduler is not None:
            self.scheduler.stop()
        active = list(runs._orchestrators.values())
        for orchestrator in active:
            orchestrator.request_cancel("the Jupyter server stopped")
        deadline = time.monotonic() + STOP_WAIT_S
        for orchestrator in active:
            orchestrator.finished.wait(max(0.0, deadline - time.monotonic()))
        used = {id(e): e for e in (self._executor,
                                   getattr(self.scheduler, "_executor", None))
                if isinstance(e, Executor)}
        for executor in used.values():
            try:
                executor.shutdown(wait=True)
            except Exception:
                log.warning("executor shutdown failed", exc_info=True)
        self._executor = None


def start_scheduler(app: Any, workspace: Workspace) -> PipelinesService:
    """Called at server start (`background.start_all`); the result is stopped with the server."""
    service = PipelinesService(workspace, run_scheduler=bool(getattr(app, "run_scheduler", True)))
    app.settings[PIPELINES_SETTING] = service
    return service.start()
