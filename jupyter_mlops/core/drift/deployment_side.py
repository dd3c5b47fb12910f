"""A deployment's prediction log as one side of a drift check.

``"deployment:churn-api@1h"`` is the inputs (and the ``prediction`` column)
of the requests the deployment answered in the last hour; ``@500`` the last
500 requests; no window means every logged request. Windows by time take
``s``, ``m``, ``h``, ``d`` and ``w`` suffixes. The log's bookkeeping columns
(``_ts``, ``_request_id``, ``_version``, ``_shadow``) are dropped: they are
not features, and comparing timestamps would always "drift".

The check history stores the side as dataset ``deployment:<name>`` with the
window as its version, so ``list_checks("deployment:churn-api")`` is the
history of that deployment's checks without a table of its own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from ..errors import InvalidInput

PREFIX = "deployment:"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_WINDOW = re.compile(r"^(?:(?P<rows>\d+)|(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])|all)$")
META_COLUMNS = ("_ts", "_request_id", "_version", "_shadow")


def is_deployment_ref(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith(PREFIX)


def parse_window(text: str | int | None) -> tuple[int | None, timedelta | None]:
    """``"1h"`` → (None, 1 hour); ``"500"`` or 500 → (500 requests, None); None/"all" → both None."""
    if text is None:
        return None, None
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise InvalidInput(f"window: a number of requests must be positive, got {text}")
        return text, None
    match = _WINDOW.match(str(text).strip().lower())
    if not match:
        raise InvalidInput(f"window {text!r}: write a number of requests (500) or a duration "
                           "with a unit s, m, h, d or w (30m, 1h, 7d), or 'all'.")
    if match.group("rows"):
        rows = int(match.group("rows"))
        if rows <= 0:
            raise InvalidInput("window: a number of requests must be positive")
        return rows, None
    if match.group("unit"):
        delta = timedelta(**{_UNITS[match.group("unit")]: float(match.group("n"))})
        if delta.total_seconds() <= 0:
            raise InvalidInput(f"window {text!r} is empty")
        return None, delta
    return None, None


def parse_deployment_ref(text: str) -> tuple[str, str | None]:
    """``"deployment:name@window"`` → ``(name, window or None)``."""
    body = text.strip()[len(PREFIX):]
    name, _, window = body.partition("@")
    if not name.strip():
        raise InvalidInput(f"{text!r}: write 'deployment:<name>' or 'deployment:<name>@<window>'")
    return name.strip(), window.strip() or None


def window_frame(name: str, window: str | int | None, workspace: Any,
                 now: datetime | None = None) -> pd.DataFrame:
    """The scored rows of ``name`` inside ``window``, without the log's bookkeeping columns."""
    from ..deploy.service import prediction_frame

    rows, delta = parse_window(window)
    since = None
    if delta is not None:
        since = (now or datetime.now(timezone.utc)) - delta
    # an unknown name is NotFound naming the deployments (prediction_frame checks)
    frame = prediction_frame(name, last=rows, since=since, workspace=workspace)
    return frame.drop(columns=[c for c in META_COLUMNS if c in frame.columns])


def deployment_side(text: str, role: str, workspace: Any) -> tuple[pd.DataFrame, str, str]:
    """The frame, the side's label and the window text, for ``resolve_side``."""
    name, window = parse_deployment_ref(text)
    frame = window_frame(name, window, workspace)
    if frame.empty:
        raise InvalidInput(f"{role}: deployment {name!r} logged no answered request"
                           + (f" in the window {window}" if window else "")
                           + "; send traffic or widen the window.")
    label = f"{PREFIX}{name}" + (f"@{window}" if window else "")
    return frame, label, window or "all"
