"""Alerts: list them, acknowledge them, mute a monitor.

An alert belongs to an *incident*: the first check that finds drift (outside
the cool-down, not muted) raises it; later drifting checks only count as
`occurrences` of it; acknowledging says "a human has seen it" and keeps the
incident; the first clean check resolves it. So one incident is one alert
and one retraining, however many checks confirm it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db.monitor_models import AlertRow, MonitorRow
from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from .records import Alert
from .service import Monitor, _get_row, get_monitor, resolve_ws
from .spec import parse_time, utcnow

STATUSES = ("open", "acknowledged", "resolved")


def alerts(status: str | None = None, *, monitor: str | None = None, limit: int = 100,
           before_id: int | None = None, workspace: Workspace | None = None) -> list[Alert]:
    """Alerts newest first; `status` is open, acknowledged, resolved, or "active" (the first two)."""
    if status is not None and status not in (*STATUSES, "active"):
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)} or 'active', "
                           f"got {status!r}.")
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit!r}.")
    ws = resolve_ws(workspace)
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(int(limit))
    if status == "active":
        query = query.where(AlertRow.status.in_(("open", "acknowledged")))
    elif status is not None:
        query = query.where(AlertRow.status == status)
    if monitor:
        query = query.where(AlertRow.monitor == monitor)
    if before_id is not None:
        query = query.where(AlertRow.id < int(before_id))
    with ws.session() as session:
        return [Alert.from_row(r) for r in session.scalars(query)]


def get_alert(alert_id: int, *, workspace: Workspace | None = None) -> Alert:
    ws = resolve_ws(workspace)
    with ws.session() as session:
        row = session.get(AlertRow, int(alert_id))
        if row is None:
            raise NotFound(f"No alert {alert_id}.", details={"id": alert_id})
        return Alert.from_row(row)


def acknowledge(alert_id: int, note: str | None = None, *,
                workspace: Workspace | None = None, actor: str | None = None) -> Alert:
    """A human has seen the alert. The incident stays until a clean check resolves it, so
    acknowledging does not re-arm the alert (nor a second retraining)."""
    ws = resolve_ws(workspace)
    if note is not None and len(str(note)) > 4000:
        raise InvalidInput("An acknowledgement note is at most 4,000 characters.")
    who = actor or current_actor()
    with ws.session() as session:
        row = session.get(AlertRow, int(alert_id))
        if row is None:
            recent = session.scalars(select(AlertRow.id).order_by(AlertRow.id.desc())
                                     .limit(10)).all()
            raise NotFound(f"No alert {alert_id}. Recent alerts: "
                           f"{', '.join(map(str, recent)) or 'none yet'}.",
                           details={"id": alert_id})
        if row.status == "open":
            row.status = "acknowledged"
        if row.acknowledged_at is None:
            row.acknowledged_at = utcnow()
        row.acknowledged_by = who
        if note:
            row.note = str(note)
        alert = Alert.from_row(row)
    record_event(ws, "monitor.acknowledged",
                 f"Alert {alert.id} of {alert.monitor} acknowledged"
                 + (f": {note}" if note else ""), subject=alert.monitor,
                 data={"alert_id": alert.id, "monitor": alert.monitor, "note": note}, actor=who)
    return alert


def mute(monitor: Any, until: Any, *, workspace: Workspace | None = None) -> Monitor:
    """No alerts (nor triggers) from `monitor` until `until` (a datetime, ISO time, or a
    duration from now like '2h'); `None` unmutes. Checks still run and are kept."""
    ws = resolve_ws(workspace if workspace is not None else getattr(monitor, "_ws", None))
    name = monitor.name if isinstance(monitor, Monitor) else str(monitor)
    when = parse_time(until, "until")
    with ws.session() as session:
        row: MonitorRow = _get_row(session, name)
        row.muted_until = when
        row.updated = utcnow()
    record_event(ws, "monitor.muted" if when else "monitor.unmuted",
                 f"Monitor {name} muted until {when.isoformat()}" if when
                 else f"Monitor {name} unmuted", subject=name,
                 data={"monitor": name, "until": when.isoformat() if when else None})
    return get_monitor(name, workspace=ws)
