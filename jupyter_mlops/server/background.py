"""Work the server does besides answering requests, started and stopped with it.

Each capability owns one starter (`<capability>_service.py`) returning
something with `stop()`, or None. A starter that fails is logged and the
server keeps serving: a broken scheduler must not take the panels down.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..core.workspace import Workspace


class Stoppable(Protocol):
    def stop(self) -> Any: ...


def start_all(app: Any, workspace: Workspace) -> list[Stoppable]:
    from .deploy_service import reconcile_deployments
    from .monitor_service import start_monitors
    from .notify_service import start_notifier
    from .pipelines_service import start_scheduler

    started: list[Stoppable] = []
    for starter in (reconcile_deployments, start_scheduler, start_monitors,
                    start_notifier):
        try:
            handle = starter(app, workspace)
        except Exception:  # noqa: BLE001 - logged; the REST API must still come up
            app.log.exception("jupyter-mlops: %s failed at start", starter.__name__)
            continue
        if handle is not None:
            started.append(handle)
    return started


async def stop_all(app: Any, started: list[Stoppable]) -> None:
    import inspect

    for handle in reversed(started):
        try:
            result = handle.stop()
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001
            app.log.exception("jupyter-mlops: stopping %r failed", handle)
    started.clear()
