"""Background work of the server: the in-server scheduler (placeholder)."""

from __future__ import annotations

from typing import Any


def start_scheduler(app: Any, workspace: Any) -> Any:
    """Return an object with a `stop()` method, or None when there is nothing to stop."""
    return None
