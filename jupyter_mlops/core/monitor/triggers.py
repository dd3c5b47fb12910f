"""A monitor's `on_drift` pipeline: the subscription and the trigger event.

The pipelines scheduler starts the runs of a trigger event for the schedules
subscribed to its (kind, subject); a monitor's alerts are `drift_alert`
events whose subject is the monitor's name. A pipeline whose spec already
declares `triggers: [{drift_alert: <monitor>}]` is subscribed through its
spec; otherwise the monitor subscribes it with a schedule of its own
(`source="monitor"`, triggers only, no cron) — never both, so one alert
starts one run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ..workspace import Workspace

log = logging.getLogger("jupyter_mlops.core.monitor")

KIND = "drift_alert"
SOURCE = "monitor"


def _subscribed(schedule: Any, monitor: str) -> bool:
    return any(t.get("kind") == KIND and t.get("subject") == monitor
               for t in (schedule.triggers or []))


def ensure_subscription(ws: Workspace, pipeline: str, monitor: str) -> None:
    """Make sure exactly one schedule of `pipeline` listens to `monitor`'s alerts."""
    from ..pipelines.scheduler import create_schedule, list_schedules, sync_spec_schedules

    try:
        sync_spec_schedules(ws, paths=[pipeline])
    except Exception:  # noqa: BLE001 - a spec the scheduler cannot sync is checked below
        log.debug("could not sync the schedules of %s", pipeline, exc_info=True)
    schedules = [s for s in list_schedules(ws, pipeline=pipeline) if _subscribed(s, monitor)]
    ours = [s for s in schedules if s.source == SOURCE]
    if len(schedules) > len(ours) and ours:  # the spec now declares it: ours would double it
        _delete(ws, [s.id for s in ours])
    elif not schedules:
        create_schedule(pipeline, None, triggers=[{"kind": KIND, "subject": monitor}],
                        workspace=ws, source=SOURCE)


def drop_subscription(ws: Workspace, pipeline: str, monitor: str) -> None:
    """Remove the schedule the monitor made for `pipeline` (a spec's own stays)."""
    from ..pipelines.scheduler import list_schedules

    try:
        ours = [s.id for s in list_schedules(ws, pipeline=pipeline)
                if s.source == SOURCE and _subscribed(s, monitor)]
    except Exception:  # noqa: BLE001
        log.warning("could not list the schedules of %s", pipeline, exc_info=True)
        return
    _delete(ws, ours)


def _delete(ws: Workspace, ids: list[int]) -> None:
    from ..pipelines.scheduler import delete_schedule

    for schedule_id in ids:
        try:
            delete_schedule(schedule_id, ws)
        except Exception:  # noqa: BLE001 - already gone
            pass


def trigger_parameters(*, monitor: str, deployment: str, alert_id: int, check_id: int,
                       drift_check_id: int | None, window_start: datetime | None,
                       window_end: datetime | None, drifted_columns: list[str],
                       share: float | None, reference: str | None) -> dict[str, Any]:
    """What the triggered run is told: which window of which deployment drifted, and why."""
    return {
        "monitor": monitor,
        "deployment": deployment,
        "alert_id": alert_id,
        "check_id": check_id,
        "drift_check_id": drift_check_id,
        "window_start": window_start.isoformat() if window_start else None,
        "window_end": window_end.isoformat() if window_end else None,
        "drifted_columns": list(drifted_columns),
        "drift_share": share,
        "reference": reference,
    }


def record_drift_trigger(ws: Workspace, pipeline: str, parameters: dict[str, Any]) -> int:
    """Record the trigger event the scheduler consumes exactly once; returns its id."""
    from ..pipelines.triggers import record_trigger

    ensure_subscription(ws, pipeline, parameters["monitor"])
    event = record_trigger(KIND, parameters["monitor"],
                           {"pipeline": pipeline, "parameters": parameters, **parameters},
                           workspace=ws)
    return event.id
