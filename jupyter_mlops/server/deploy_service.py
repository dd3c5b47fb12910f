"""Background work of the server: re-attaching deployments at server start (placeholder)."""

from __future__ import annotations

from typing import Any


def reconcile_deployments(app: Any, workspace: Any) -> Any:
    """Return an object with a `stop()` method, or None when there is nothing to stop."""
    return None
