"""Drift monitors of deployments, their alerts, and the workspace timeline.

- `service`   `monitor()`, `monitors()`, `get_monitor()`, `Monitor` (check, history,
              pause, resume, mute, delete)
- `check`     one check: the window of the prediction log vs the reference, the
              incident logic (alert once, cool-down, mute), the `on_drift` trigger
- `alerting`  `alerts()`, `acknowledge()`, `mute()`
- `reference` the reference by default: the stable model's training data (lineage)
- `triggers`  the `on_drift` pipeline's subscription and trigger events
- `runner`    `run_due_monitors()` and the `MonitorRunner` thread the server runs
- `..timeline` `timeline()`: runs, snapshots, pipeline runs, gates, alias moves,
              deployment events, drift checks, alerts and events, in one list

Names are served lazily: importing this package loads no SQLAlchemy model.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    **{name: "service" for name in (
        "monitor", "monitors", "get_monitor", "delete_monitor", "check_history", "Monitor")},
    **{name: "alerting" for name in ("alerts", "acknowledge", "mute", "get_alert")},
    **{name: "records" for name in ("Alert", "MonitorCheck")},
    "run_check": "check",
    **{name: "runner" for name in ("run_due_monitors", "MonitorRunner")},
}
#: the timeline is a module of the core (it joins every capability), re-exported here
_TIMELINE = ("timeline", "TimelineItem", "TIMELINE_KINDS")


def __getattr__(name: str) -> Any:
    if name in _TIMELINE:
        value = getattr(importlib.import_module("jupyter_mlops.core.timeline"), name)
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = sorted([*_EXPORTS, *_TIMELINE])
