"""One check of a monitor.

1. Read the window of the deployment's prediction log ending at `now` (a
   duration back from `now`, or the last N rows up to `now`).
2. Fewer than `min_rows` rows: the check is "insufficient data"; nothing else.
3. Compare the window with the reference (drift's `compare_sources`, the
   reference read from its stored profile), and keep the comparison in the
   drift history as `deployment:<name>` (so the Drift panel lists it with
   the deployment's other checks) with `origin="monitor"`.
4. On drift: raise an alert unless an incident is open, the monitor is
   muted, or the cool-down since the last alert has not passed. Raising is a
   compare-and-set on the monitor row, so two runners never raise one
   incident twice; the `on_drift` pipeline is then triggered once.
   A clean check resolves the open incident.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from ..db.monitor_models import AlertRow, MonitorCheckRow, MonitorRow
from ..errors import InvalidInput, MLOpsError
from ..events import record_event
from ..workspace import Workspace
from .records import MonitorCheck
from .spec import aware, utcnow, window_bounds

META_COLUMNS = ("_ts", "_request_id", "_version", "_shadow")


def read_window(ws: Workspace, deployment: str, window: str, now: datetime
                ) -> tuple[Any, datetime | None, datetime]:
    """The scored rows of the window (features and `prediction`), its start and its end."""
    from ..deploy import prediction_frame

    rows, since = window_bounds(window, now)
    frame = prediction_frame(deployment, last=rows, since=since, until=now, workspace=ws)
    if rows is not None:
        frame = frame.tail(rows)  # `last` counts requests; a request may score several rows
    start = since
    if start is None and len(frame) and "_ts" in frame.columns:
        start = aware(frame["_ts"].min().to_pydatetime())
    return frame, start, now


def _columns(frame: Any, wanted: list[str] | None, reference_columns: list[str] | None,
             reference: str) -> list[str]:
    features = [c for c in frame.columns if c not in META_COLUMNS]
    if wanted:
        missing = [c for c in wanted if c not in features
                   or (reference_columns is not None and c not in reference_columns)]
        if missing:
            raise InvalidInput(f"Column(s) {', '.join(missing)} are not in both the prediction "
                               f"log and the reference {reference}.",
                               details={"missing": missing})
        return list(wanted)
    common = [c for c in features if reference_columns is None or c in reference_columns]
    if not common:
        raise InvalidInput(f"The prediction log and the reference {reference} share no column; "
                           "give the reference the model's input columns.")
    return common


def _store(ws: Workspace, monitor_id: int, values: dict[str, Any]) -> int:
    with ws.session() as session:
        row = MonitorCheckRow(monitor_id=monitor_id, **values)
        session.add(row)
        session.flush()
        session.execute(update(MonitorRow).where(MonitorRow.id == monitor_id).values(
            last_check_at=values["ts"], last_status=values["status"]))
        return row.id


def _finish(ws: Workspace, check_id: int, **values: Any) -> None:
    with ws.session() as session:
        session.execute(update(MonitorCheckRow).where(MonitorCheckRow.id == check_id)
                        .values(**values))


def _load(ws: Workspace, name: str) -> dict[str, Any]:
    from .service import _get_row

    with ws.session() as session:
        row = _get_row(session, name)
        return {c.name: getattr(row, c.name) for c in MonitorRow.__table__.columns}


def run_check(ws: Workspace, name: str, now: datetime | None = None, *,
              raise_errors: bool = True) -> MonitorCheck:
    """Check monitor `name` on the window ending at `now` (default: now); see the module doc."""
    from ..drift.history import record_check
    from ..drift.sources import compare_sources
    from .reference import resolve_reference

    started = time.perf_counter()
    m = _load(ws, name)
    now = aware(now) or utcnow()
    base: dict[str, Any] = {"ts": now, "rows": 0}
    try:
        frame, start, end = read_window(ws, m["deployment"], m["window"], now)
        base.update(rows=int(len(frame)), window_start=start, window_end=end)
        if len(frame) < m["min_rows"]:
            check_id = _store(ws, m["id"], {
                **base, "status": "insufficient_data", "duration_ms": _ms(started),
                "message": f"{len(frame)} row(s) in the window, fewer than min_rows="
                           f"{m['min_rows']}: no verdict."})
            return _result(ws, check_id, name)
        ref = resolve_reference(ws, m["deployment"], m["reference"])
        base["reference"] = ref.ref
        cols = _columns(frame, m["columns"], ref.columns, ref.ref)
        report = compare_sources(ref.ref, frame[cols].reset_index(drop=True), columns=cols,
                                 tests=m["tests"], thresholds=m["thresholds"],
                                 drift_share=m["drift_share"], record=False, workspace=ws,
                                 origin="monitor")
        report.options.update({
            "current": f"deployment:{m['deployment']}@{m['window']}",
            "current_dataset": f"deployment:{m['deployment']}",
            "current_version": m["window"], "monitor": name, "reference_via": ref.via,
            "window_start": start.isoformat() if start else None,
            "window_end": end.isoformat()})
        drift_check = record_check(report, ws, origin="monitor")
    except MLOpsError as exc:
        check_id = _store(ws, m["id"], {**base, "status": "error", "message": exc.message,
                                        "duration_ms": _ms(started)})
        if raise_errors:
            raise
        return _result(ws, check_id, name)
    drifted = bool(report.drifted)
    columns = [c.name for c in report.columns if c.drifted is True]
    check_id = _store(ws, m["id"], {
        **base, "status": "drift" if drifted else "ok", "drifted": drifted,
        "share": report.share, "n_drifted": report.n_drifted,
        "n_evaluated": report.n_evaluated, "drifted_columns": columns,
        "drift_check_id": drift_check.id})
    if drifted:
        alert_id, trigger_id, message = _on_drift(ws, m, check_id, drift_check.id, now, start,
                                                  end, columns, report.share, ref.ref)
        _finish(ws, check_id, alert_id=alert_id, message=message, duration_ms=_ms(started))
        result = _result(ws, check_id, name)
        result.trigger_id = trigger_id
        return result
    _resolve_incident(ws, m, now, check_id)
    _finish(ws, check_id, duration_ms=_ms(started))
    return _result(ws, check_id, name)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _result(ws: Workspace, check_id: int, name: str) -> MonitorCheck:
    with ws.session() as session:
        return MonitorCheck.from_row(session.get(MonitorCheckRow, check_id), name)  # type: ignore[arg-type]


def _on_drift(ws: Workspace, m: dict[str, Any], check_id: int, drift_check_id: int,
              now: datetime, start: datetime | None, end: datetime, columns: list[str],
              share: float | None, reference: str) -> tuple[int | None, int | None, str | None]:
    """Raise the incident's alert (once), or say why not: (alert id, trigger id, message)."""
    from .triggers import record_drift_trigger, trigger_parameters

    cooldown = timedelta(seconds=m["cooldown_s"])
    with ws.session() as session:
        row = session.get(MonitorRow, m["id"])
        if row is None:
            return None, None, "the monitor was deleted during the check"
        if row.open_alert_id is not None:
            alert = session.get(AlertRow, row.open_alert_id)
            if alert is not None and alert.status != "resolved":
                alert.occurrences += 1
                alert.last_seen = now
                return None, None, f"incident open: alert {alert.id}"
        muted = aware(row.muted_until)
        if muted is not None and muted > now:
            return None, None, f"muted until {muted.isoformat()}"
        last = aware(row.last_alert_at)
        if last is not None and now - last < cooldown:
            return None, None, f"cool-down: the last alert was at {last.isoformat()}, the " \
                               f"next may be raised after {(last + cooldown).isoformat()}"
        title = (f"Drift on {m['deployment']}: {len(columns)} column(s) drifted"
                 + (f" ({', '.join(columns[:5])}{'…' if len(columns) > 5 else ''})"
                    if columns else "") + (f", share {share:.0%}" if share is not None else ""))
        alert = AlertRow(monitor_id=m["id"], monitor=m["name"], deployment=m["deployment"],
                         created=now, status="open", title=title, share=share,
                         drifted_columns=columns, window_start=start, window_end=end,
                         check_id=check_id, drift_check_id=drift_check_id,
                         pipeline=m["on_drift"], occurrences=1, last_seen=now,
                         data={"reference": reference})
        session.add(alert)
        session.flush()
        # compare-and-set: whoever moves the incident state first raises the alert
        claimed = session.execute(update(MonitorRow).where(
            MonitorRow.id == m["id"], MonitorRow.open_alert_id.is_(None),
            or_(MonitorRow.last_alert_at.is_(None), MonitorRow.last_alert_at <= now - cooldown))
            .values(open_alert_id=alert.id, last_alert_at=now)
            # evaluated by the DB only: SQLite hands back naive datetimes that Python
            # could not compare with `now` when syncing the session's loaded row
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            session.rollback()
            return None, None, "another runner raised this incident's alert"
        alert_id = alert.id
    trigger_id = None
    parameters = trigger_parameters(
        monitor=m["name"], deployment=m["deployment"], alert_id=alert_id, check_id=check_id,
        drift_check_id=drift_check_id, window_start=start, window_end=end,
        drifted_columns=columns, share=share, reference=reference)
    if m["on_drift"]:
        try:
            trigger_id = record_drift_trigger(ws, m["on_drift"], parameters)
        except MLOpsError as exc:
            with ws.session() as session:
                session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(
                    data={"reference": reference, "trigger_error": exc.message}))
        else:
            with ws.session() as session:
                session.execute(update(AlertRow).where(AlertRow.id == alert_id)
                                .values(trigger_id=trigger_id))
    record_event(ws, "monitor.alert", title, subject=m["name"],
                 data={**parameters, "trigger_id": trigger_id, "pipeline": m["on_drift"]},
                 actor="monitor")
    return alert_id, trigger_id, None


def _resolve_incident(ws: Workspace, m: dict[str, Any], now: datetime, check_id: int) -> None:
    with ws.session() as session:
        row = session.get(MonitorRow, m["id"])
        if row is None or row.open_alert_id is None:
            return
        alert_id = row.open_alert_id
        alert = session.get(AlertRow, alert_id)
        if alert is not None and alert.status != "resolved":
            alert.status, alert.resolved_at = "resolved", now
        row.open_alert_id = None
    record_event(ws, "monitor.resolved", f"Alert {alert_id} of {m['name']} resolved: check "
                 f"{check_id} found no drift", subject=m["name"],
                 data={"alert_id": alert_id, "check_id": check_id, "monitor": m["name"]},
                 actor="monitor")


def due_monitors(ws: Workspace, now: datetime) -> list[tuple[int, str, datetime]]:
    with ws.session() as session:
        return [(r.id, r.name, aware(r.next_check_at)) for r in session.execute(  # type: ignore[misc]
            select(MonitorRow.id, MonitorRow.name, MonitorRow.next_check_at).where(
                MonitorRow.paused.is_(False), MonitorRow.next_check_at <= now)
            .order_by(MonitorRow.next_check_at))]
