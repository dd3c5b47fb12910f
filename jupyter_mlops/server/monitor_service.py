"""Background work of the server: checking the drift monitors on their cron.

Starts a `MonitorRunner` thread (core.monitor.runner) unless
`c.MLOps.run_monitors = False` — turn it off when a headless process checks
the monitors instead. With no monitors the thread costs one indexed query
every few seconds; it sleeps until the soonest due monitor otherwise, and
`stop()` ends it after the check in progress.
"""

from __future__ import annotations

from typing import Any


def start_monitors(app: Any, workspace: Any) -> Any:
    """Return the running `MonitorRunner` (it has `stop()`), or None when turned off."""
    if not getattr(app, "run_monitors", True):
        app.log.info("jupyter-mlops: monitors are not run in this server (run_monitors=False)")
        return None
    from ..core.monitor.runner import MonitorRunner

    return MonitorRunner(workspace, logger=app.log).start()
