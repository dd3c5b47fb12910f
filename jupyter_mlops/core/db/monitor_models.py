"""SQLAlchemy models of the monitor tables (schema owned by migration 0005_monitors).

- `monitors`: one drift monitor of a deployment: what it compares (the
  reference, `None` = the stable model's training data found through
  lineage), when (a cron schedule, a window of the prediction log), how
  (columns, thresholds) and what it does on drift (a pipeline to trigger).
  `open_alert_id` / `last_alert_at` are the incident state: raising an alert
  is a compare-and-set on them, so two runners never raise the same incident
  twice.
- `monitor_checks`: the history of one monitor's checks (the numbers; the
  full report lives in `drift_checks`, referenced by `drift_check_id`).
- `monitor_alerts`: alerts raised by monitors. They keep the monitor's name
  as text and no foreign key: an alert must outlive a deleted monitor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .mixins import CreatedUpdatedByMixin
from .models import Base, utcnow


class MonitorRow(CreatedUpdatedByMixin, Base):
    """A drift monitor of one deployment."""

    __tablename__ = "monitors"
    __table_args__ = (UniqueConstraint("name", name="uq_monitors_name"),
                      Index("ix_monitors_next_check_at", "next_check_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    deployment: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: "name@version" of a dataset, or None: the stable model's training data (lineage)
    reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    schedule: Mapped[str] = mapped_column(String(128), nullable=False)
    #: "1h", "30m", "7d" (a time window) or "500" (the last N rows)
    window: Mapped[str] = mapped_column(String(32), nullable=False)
    columns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    thresholds: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    tests: Mapped[Any] = mapped_column(JSON, nullable=True)
    drift_share: Mapped[float] = mapped_column(Float, nullable=False, default=0.5)
    #: a workspace-relative pipeline file triggered on drift
    on_drift: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    min_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    cooldown_s: Mapped[int] = mapped_column(Integer, nullable=False, default=3600)
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    muted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    open_alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_alert_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MonitorCheckRow(Base):
    """One check of a monitor: the window read, the verdict, what it led to."""

    __tablename__ = "monitor_checks"
    __table_args__ = (Index("ix_monitor_checks_monitor_id", "monitor_id", "id"),
                      Index("ix_monitor_checks_ts", "ts"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"),
                                            nullable=False)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: ok | drift | insufficient_data | error
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    drifted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_drifted: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_evaluated: Mapped[int | None] = mapped_column(Integer, nullable=True)
    drifted_columns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    drift_check_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: why no alert was raised on drift (cool-down, muted, an open incident), or the error
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertRow(Base):
    """A drift alert: one per incident, until a clean check resolves it."""

    __tablename__ = "monitor_alerts"
    __table_args__ = (Index("ix_monitor_alerts_status", "status", "id"),
                      Index("ix_monitor_alerts_created", "created"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monitor: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    deployment: Mapped[str] = mapped_column(String(64), nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    #: open | acknowledged | resolved
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    title: Mapped[str] = mapped_column(Text, nullable=False)
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    drifted_columns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    check_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    drift_check_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pipeline: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    trigger_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: checks that confirmed the drift while the incident stayed open
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
