"""The monitor API: create or update, list, get, pause, resume, mute, delete.

    from jupyter_mlops import monitor
    m = monitor("churn-api", schedule="*/10 * * * *", window="1h",
                on_drift="retrain.pipeline.yaml")
    m.check()          # now, whatever the schedule says
    m.history()        # the checks, newest first

A monitor is a row of the state DB; this module's `Monitor` is a detached
snapshot of it with methods that act and hand back a fresh snapshot. The
check itself is in `check.py`, alerts in `alerts.py`, the runner that checks
due monitors on their cron in `runner.py`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..db.monitor_models import MonitorCheckRow, MonitorRow
from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from .records import MonitorCheck
from .spec import (
    aware,
    check_columns,
    check_schedule,
    check_thresholds,
    next_after,
    normalize_window,
    parse_duration,
    parse_time,
    utcnow,
    validate_monitor_name,
)


def resolve_ws(workspace: Workspace | str | None) -> Workspace:
    """The given workspace (or folder), else the process's (the server's, in its kernels)."""
    from ..workspace import use_workspace

    return use_workspace(workspace)


@dataclass
class Monitor:
    """A snapshot of one monitor; methods act on the stored monitor."""

    id: int
    name: str
    deployment: str
    reference: str | None
    schedule: str
    window: str
    columns: list[str] | None
    thresholds: dict[str, float] | None
    tests: Any
    drift_share: float
    on_drift: str | None
    min_rows: int
    cooldown_s: int
    paused: bool
    muted_until: datetime | None
    next_check_at: datetime | None
    last_check_at: datetime | None
    last_status: str | None
    open_alert_id: int | None
    last_alert_at: datetime | None
    created: datetime
    updated: datetime
    actor: str | None
    last_check: MonitorCheck | None = None
    _ws: Workspace | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: MonitorRow, ws: Workspace,
                 last_check: MonitorCheck | None = None) -> Monitor:
        return cls(id=row.id, name=row.name, deployment=row.deployment, reference=row.reference,
                   schedule=row.schedule, window=row.window, columns=row.columns,
                   thresholds=row.thresholds, tests=row.tests, drift_share=row.drift_share,
                   on_drift=row.on_drift, min_rows=row.min_rows, cooldown_s=row.cooldown_s,
                   paused=bool(row.paused), muted_until=aware(row.muted_until),
                   next_check_at=aware(row.next_check_at),
                   last_check_at=aware(row.last_check_at), last_status=row.last_status,
                   open_alert_id=row.open_alert_id, last_alert_at=aware(row.last_alert_at),
                   created=aware(row.created), updated=aware(row.updated),  # type: ignore[arg-type]
                   actor=row.actor, last_check=last_check, _ws=ws)

    @property
    def workspace(self) -> Workspace:
        return resolve_ws(self._ws)

    @property
    def muted(self) -> bool:
        return self.muted_until is not None and self.muted_until > utcnow()

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        for key in ("muted_until", "next_check_at", "last_check_at", "last_alert_at",
                    "created", "updated"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["last_check"] = self.last_check.to_dict() if self.last_check else None
        out["muted"] = self.muted
        return out

    # -- actions -----------------------------------------------------------------------------
    def check(self, now: datetime | None = None) -> MonitorCheck:
        """Check now: read the window ending at `now`, compare, alert and trigger on drift."""
        from .check import run_check

        return run_check(self.workspace, self.name, now)

    def history(self, limit: int = 50, before_id: int | None = None) -> list[MonitorCheck]:
        """This monitor's checks, newest first."""
        return check_history(self.name, limit=limit, before_id=before_id,
                             workspace=self.workspace)

    def pause(self) -> Monitor:
        return _set_paused(self.workspace, self.name, True)

    def resume(self) -> Monitor:
        """Resume from now on: slots that fell while paused are not caught up."""
        return _set_paused(self.workspace, self.name, False)

    def mute(self, until: Any) -> Monitor:
        from .alerting import mute

        return mute(self.name, until, workspace=self.workspace)

    def delete(self) -> None:
        delete_monitor(self.name, workspace=self.workspace)

    def refresh(self) -> Monitor:
        return get_monitor(self.name, workspace=self.workspace)

    def __repr__(self) -> str:
        state = "paused" if self.paused else (self.last_status or "never checked")
        return f"<Monitor {self.name} on {self.deployment} every '{self.schedule}' ({state})>"

    def _repr_html_(self) -> str:
        ref = html.escape(self.reference or "training data of the stable model (lineage)")
        last = self.last_check._repr_html_() if self.last_check else "<div>never checked</div>"
        return (f"<div><b>Monitor {html.escape(self.name)}</b> on deployment "
                f"<code>{html.escape(self.deployment)}</code> · schedule "
                f"<code>{html.escape(self.schedule)}</code> · window {html.escape(self.window)}"
                f" · reference {ref}" + (" · <b>paused</b>" if self.paused else "")
                + (f" · on drift: <code>{html.escape(self.on_drift)}</code>"
                   if self.on_drift else "") + f"</div>{last}")


# -- reading -----------------------------------------------------------------------------------
def _last_checks(session: Any, rows: list[MonitorRow]) -> dict[int, MonitorCheck]:
    """The newest check of each monitor, in one query (no N+1 over the list)."""
    from sqlalchemy import func

    if not rows:
        return {}
    ids = [r.id for r in rows]
    newest = (select(func.max(MonitorCheckRow.id)).where(MonitorCheckRow.monitor_id.in_(ids))
              .group_by(MonitorCheckRow.monitor_id))
    names = {r.id: r.name for r in rows}
    return {c.monitor_id: MonitorCheck.from_row(c, names[c.monitor_id]) for c in
            session.scalars(select(MonitorCheckRow).where(MonitorCheckRow.id.in_(newest)))}


def monitors(*, deployment: str | None = None,
             workspace: Workspace | None = None) -> list[Monitor]:
    """Every monitor (of one deployment, if given), by name, each with its last check."""
    ws = resolve_ws(workspace)
    query = select(MonitorRow).order_by(MonitorRow.name)
    if deployment:
        query = query.where(MonitorRow.deployment == deployment)
    with ws.session() as session:
        rows = list(session.scalars(query))
        last = _last_checks(session, rows)
        return [Monitor.from_row(r, ws, last.get(r.id)) for r in rows]


def _get_row(session: Any, name: str) -> MonitorRow:
    row = session.scalar(select(MonitorRow).where(MonitorRow.name == name))
    if row is None:
        known = session.scalars(select(MonitorRow.name).order_by(MonitorRow.name).limit(20)).all()
        raise NotFound(f"No monitor named {name!r}. Monitors: {', '.join(known) or 'none yet'}.",
                       details={"name": name, "monitors": list(known)})
    return row


def get_monitor(name: str, *, workspace: Workspace | None = None) -> Monitor:
    ws = resolve_ws(workspace)
    with ws.session() as session:
        row = _get_row(session, str(name))
        return Monitor.from_row(row, ws, _last_checks(session, [row]).get(row.id))


def check_history(name: str, *, limit: int = 50, before_id: int | None = None,
                  workspace: Workspace | None = None) -> list[MonitorCheck]:
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit!r}.")
    ws = resolve_ws(workspace)
    with ws.session() as session:
        row = _get_row(session, name)
        query = (select(MonitorCheckRow).where(MonitorCheckRow.monitor_id == row.id)
                 .order_by(MonitorCheckRow.id.desc()).limit(int(limit)))
        if before_id is not None:
            query = query.where(MonitorCheckRow.id < int(before_id))
        return [MonitorCheck.from_row(c, row.name) for c in session.scalars(query)]


# -- writing -----------------------------------------------------------------------------------
def _check_deployment(ws: Workspace, deployment: Any) -> str:
    from ..db.deploy_models import DeploymentRow

    if not isinstance(deployment, str):
        deployment = getattr(deployment, "name", deployment)
    if not isinstance(deployment, str) or not deployment:
        raise InvalidInput(f"deployment is a deployment's name, got {deployment!r}.")
    with ws.session() as session:
        found = session.scalar(select(DeploymentRow.id).where(DeploymentRow.name == deployment))
        if found is None:
            known = session.scalars(select(DeploymentRow.name).order_by(DeploymentRow.name)
                                    .limit(20)).all()
            raise NotFound(f"No deployment named {deployment!r}. Deployments: "
                           f"{', '.join(known) or 'none yet'}.",
                           details={"deployment": deployment})
    return deployment


def _check_pipeline(ws: Workspace, on_drift: Any) -> str | None:
    if on_drift is None or on_drift == "":
        return None
    from ..pipelines.spec import load_spec

    spec = load_spec(str(on_drift), ws)
    if spec.key.startswith("inline:"):
        raise InvalidInput("on_drift names a pipeline file of the workspace "
                           "(e.g. 'retrain.pipeline.yaml') or a notebook.")
    return spec.key


def monitor(deployment: Any, reference: str | None = None, schedule: str = "*/10 * * * *",
            window: str | int = "1h", columns: list[str] | None = None,
            thresholds: dict[str, float] | None = None, on_drift: str | None = None,
            min_rows: int = 100, cooldown: Any = "1h", name: str | None = None,
            workspace: Workspace | None = None, *, tests: Any = None,
            drift_share: float = 0.5) -> Monitor:
    """Create (or update, by name) a drift monitor of `deployment`.

    `reference` is a dataset version `"name@version"`; None means the data the
    deployment's stable model was trained on, found through lineage at every
    check. `window` is a duration (`"1h"`) or the last N rows; a check with
    fewer than `min_rows` rows is "insufficient data". On drift an alert is
    raised (one per incident, at most one per `cooldown`), and `on_drift`, a
    pipeline file, is triggered with parameters naming the drifted window.
    """
    from .reference import resolve_reference
    from .triggers import ensure_subscription, drop_subscription

    ws = resolve_ws(workspace)
    deployment = _check_deployment(ws, deployment)
    name = validate_monitor_name(name if name is not None else f"{deployment}-drift")
    schedule = check_schedule(schedule)
    window = normalize_window(window)
    columns = check_columns(columns)
    thresholds = check_thresholds(thresholds)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInput(f"min_rows must be a positive number of rows, got {min_rows!r}.")
    if not 0 < float(drift_share) <= 1:
        raise InvalidInput(f"drift_share must be in (0, 1], got {drift_share!r}.")
    cooldown_s = int(parse_duration(cooldown, "cooldown").total_seconds())
    if reference is not None and not isinstance(reference, str):
        reference = f"{reference.name}@{reference.version}"  # a DatasetVersion
    resolve_reference(ws, deployment, reference or None)  # fail now, not at 3 a.m.
    pipeline = _check_pipeline(ws, on_drift)
    now = utcnow()
    values = dict(deployment=deployment, reference=reference or None, schedule=schedule,
                  window=window, columns=columns, thresholds=thresholds, tests=tests,
                  drift_share=float(drift_share), on_drift=pipeline, min_rows=min_rows,
                  cooldown_s=cooldown_s, updated=now)
    with ws.session() as session:
        row = session.scalar(select(MonitorRow).where(MonitorRow.name == name))
        created = row is None
        old_pipeline = None if created else row.on_drift
        if created:
            row = MonitorRow(name=name, paused=False, created=now, actor=current_actor(),
                             next_check_at=next_after(schedule, now), **values)
            session.add(row)
        else:
            retimed = row.schedule != schedule
            for key, value in values.items():
                setattr(row, key, value)
            if retimed and not row.paused:
                row.next_check_at = next_after(schedule, now)
    if old_pipeline and old_pipeline != pipeline:
        drop_subscription(ws, old_pipeline, name)
    if pipeline:
        ensure_subscription(ws, pipeline, name)
    record_event(ws, "monitor.created" if created else "monitor.updated",
                 f"Monitor {name} {'created' if created else 'updated'} on {deployment} "
                 f"(every '{schedule}', window {window})", subject=name,
                 data={"monitor": name, "deployment": deployment, "on_drift": pipeline})
    return get_monitor(name, workspace=ws)


def _set_paused(ws: Workspace, name: str, paused: bool) -> Monitor:
    now = utcnow()
    with ws.session() as session:
        row = _get_row(session, name)
        if bool(row.paused) != paused:
            row.paused = paused
            row.updated = now
            if not paused:
                row.next_check_at = next_after(row.schedule, now)
    record_event(ws, "monitor.paused" if paused else "monitor.resumed",
                 f"Monitor {name} {'paused' if paused else 'resumed'}", subject=name,
                 data={"monitor": name})
    return get_monitor(name, workspace=ws)


def delete_monitor(name: str, *, workspace: Workspace | None = None) -> None:
    """Delete a monitor and its check history; its alerts are kept (resolved if open)."""
    from ..db.monitor_models import AlertRow
    from .triggers import drop_subscription

    ws = resolve_ws(workspace)
    now = utcnow()
    with ws.session() as session:
        row = _get_row(session, name)
        pipeline = row.on_drift
        for alert in session.scalars(select(AlertRow).where(
                AlertRow.monitor_id == row.id, AlertRow.status != "resolved")):
            alert.status, alert.resolved_at = "resolved", now
            alert.note = ((alert.note + "\n") if alert.note else "") + "monitor deleted"
        session.delete(row)
    if pipeline:
        drop_subscription(ws, pipeline, name)
    record_event(ws, "monitor.deleted", f"Monitor {name} deleted", subject=name,
                 data={"monitor": name})


def update_monitor(name: str, *, paused: bool | None = None,
                   workspace: Workspace | None = None) -> Monitor:
    """The REST PATCH: only the switches (settings change through `monitor()`)."""
    ws = resolve_ws(workspace)
    if paused is None:
        raise InvalidInput("Nothing to change: give paused true or false.")
    return _set_paused(ws, name, paused)


def parse_until(until: Any) -> datetime | None:
    return parse_time(until, "until")
