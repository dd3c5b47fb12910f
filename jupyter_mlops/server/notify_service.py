"""Background work of the server: posting the activity log to webhooks.

Starts a `Notifier` thread (core.notify.deliver) unless
`c.MLOps.run_notifications = False` — turn it off when a headless `jupyter
mlops scheduler` delivers instead. With no webhook behind the newest event a
pass is two indexed reads every 2 s; with several servers on one database the
`notifier` lease makes one of them post each event.
"""

from __future__ import annotations

from typing import Any


def start_notifier(app: Any, workspace: Any) -> Any:
    """Return the running `Notifier` (it has `stop()`), or None when turned off."""
    if not getattr(app, "run_notifications", True):
        app.log.info("jupyter-mlops: webhooks are not delivered by this server "
                     "(run_notifications=False)")
        return None
    from ..core.notify import Notifier

    return Notifier(workspace, logger=app.log).start()
