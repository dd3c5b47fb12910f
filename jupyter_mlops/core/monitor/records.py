"""Detached records of monitors, checks and alerts: safe across threads and surfaces."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..db.monitor_models import AlertRow, MonitorCheckRow
from .spec import aware


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class MonitorCheck:
    """One check: the window it read, the verdict and what followed (an alert or why not)."""

    id: int
    monitor: str
    ts: datetime
    status: str  # ok | drift | insufficient_data | error
    rows: int
    window_start: datetime | None = None
    window_end: datetime | None = None
    drifted: bool | None = None
    share: float | None = None
    n_drifted: int | None = None
    n_evaluated: int | None = None
    drifted_columns: list[str] = field(default_factory=list)
    reference: str | None = None
    drift_check_id: int | None = None
    alert_id: int | None = None
    message: str | None = None
    duration_ms: float | None = None
    trigger_id: int | None = None

    @classmethod
    def from_row(cls, row: MonitorCheckRow, monitor: str) -> MonitorCheck:
        return cls(id=row.id, monitor=monitor, ts=aware(row.ts), status=row.status,  # type: ignore[arg-type]
                   rows=row.rows, window_start=aware(row.window_start),
                   window_end=aware(row.window_end), drifted=row.drifted, share=row.share,
                   n_drifted=row.n_drifted, n_evaluated=row.n_evaluated,
                   drifted_columns=list(row.drifted_columns or []), reference=row.reference,
                   drift_check_id=row.drift_check_id, alert_id=row.alert_id,
                   message=row.message, duration_ms=row.duration_ms)

    @property
    def alerted(self) -> bool:
        """True when this check raised a new alert (`alert_id` is only set then)."""
        return self.alert_id is not None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("ts", "window_start", "window_end"):
            out[key] = _iso(out[key])
        return out

    def __repr__(self) -> str:
        share = f" share={self.share:.2f}" if self.share is not None else ""
        return f"<MonitorCheck {self.id} {self.monitor} {self.status} rows={self.rows}{share}>"

    def _repr_html_(self) -> str:
        colour = {"drift": "var(--jp-error-color1, #d32f2f)", "ok": "var(--jp-success-color1, "
                  "#388e3c)"}.get(self.status, "var(--jp-warn-color1, #f57c00)")
        cols = ", ".join(html.escape(c) for c in self.drifted_columns) or "none"
        note = f"<div>{html.escape(self.message)}</div>" if self.message else ""
        share = "" if self.share is None else f" · drifted share {self.share:.0%}"
        return (f"<div><b>{html.escape(self.monitor)}</b> check {self.id}: "
                f"<span style='color:{colour}'>{html.escape(self.status)}</span> · "
                f"{self.rows} rows{share} · drifted columns: {cols}{note}</div>")


@dataclass
class Alert:
    """A drift alert of one incident."""

    id: int
    monitor: str
    deployment: str
    created: datetime
    status: str  # open | acknowledged | resolved
    title: str
    share: float | None = None
    drifted_columns: list[str] = field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    check_id: int | None = None
    drift_check_id: int | None = None
    pipeline: str | None = None
    trigger_id: int | None = None
    occurrences: int = 1
    last_seen: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    resolved_at: datetime | None = None

    @classmethod
    def from_row(cls, row: AlertRow) -> Alert:
        return cls(id=row.id, monitor=row.monitor, deployment=row.deployment,
                   created=aware(row.created), status=row.status, title=row.title,  # type: ignore[arg-type]
                   share=row.share, drifted_columns=list(row.drifted_columns or []),
                   window_start=aware(row.window_start), window_end=aware(row.window_end),
                   check_id=row.check_id, drift_check_id=row.drift_check_id,
                   pipeline=row.pipeline, trigger_id=row.trigger_id,
                   occurrences=row.occurrences, last_seen=aware(row.last_seen),
                   acknowledged_at=aware(row.acknowledged_at),
                   acknowledged_by=row.acknowledged_by, note=row.note,
                   resolved_at=aware(row.resolved_at))

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created", "window_start", "window_end", "last_seen", "acknowledged_at",
                    "resolved_at"):
            out[key] = _iso(out[key])
        return out

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.monitor} {self.status}: {self.title}>"
