"""Background work of the server: running drift monitors inside the server (placeholder)."""

from __future__ import annotations

from typing import Any


def start_monitors(app: Any, workspace: Any) -> Any:
    """Return an object with a `stop()` method, or None when there is nothing to stop."""
    return None
