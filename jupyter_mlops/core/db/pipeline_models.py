"""SQLAlchemy models of the pipeline tables (schema owned by migration 0004_pipelines).

- `pipeline_runs`: one row per run of a pipeline, and one per schedule slot
  that was handled without running (status `skipped`): the unique constraint
  on (schedule, slot) is what makes a slot fire at most once, whichever
  scheduler process gets there first.
- `pipeline_step_runs`: one row per step of a run, with its progress (cells
  done of total, the cell running) and, on failure, where and why.
- `pipeline_schedules`: the durable automations of a pipeline: a cron
  schedule and/or trigger subscriptions, paused or not, and the next slot.
- `pipeline_trigger_events`: things that happened (a dataset snapshot, a
  drift alert, a model version) waiting to be consumed exactly once.
- `pipeline_leases`: a named lease with an expiry, so that of several
  schedulers sharing one database only one fires at a time.
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


class PipelineRunRow(Base):
    """A run of a pipeline (or a schedule slot that was skipped)."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "scheduled_for", name="uq_pipeline_runs_schedule_slot"),
        Index("ix_pipeline_runs_pipeline_status", "pipeline", "status"),
        Index("ix_pipeline_runs_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(1024), nullable=False)  # workspace-relative file
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    trigger: Mapped[str] = mapped_column(String(64), nullable=False, default="manual")
    trigger_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipeline_schedules.id", ondelete="SET NULL"), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    owner_host: Mapped[str | None] = mapped_column(String(256), nullable=True)
    owner_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rerun_of: Mapped[str | None] = mapped_column(String(40), nullable=True)


class StepRunRow(Base):
    """One step of a run: status, timings, progress, output notebook, error."""

    __tablename__ = "pipeline_step_runs"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_pipeline_step_runs_run_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    notebook: Mapped[str] = mapped_column(String(1024), nullable=False)
    depends_on: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    output_notebook: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    log_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    cells_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cells_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    current_cell: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_cell_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_ename: Mapped[str | None] = mapped_column(String(256), nullable=True)
    error_evalue: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kernel_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ScheduleRow(CreatedUpdatedByMixin, Base):
    """A durable automation of a pipeline: a cron schedule and/or trigger subscriptions."""

    __tablename__ = "pipeline_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(1024), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    cron: Mapped[str | None] = mapped_column(String(128), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    catch_up: Mapped[str] = mapped_column(String(16), nullable=False, default="latest")
    max_backfill: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    triggers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_fire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TriggerEventRow(Base):
    """Something a pipeline may be subscribed to; consumed once by one scheduler."""

    __tablename__ = "pipeline_trigger_events"
    __table_args__ = (Index("ix_pipeline_trigger_events_consumed", "consumed", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    subject: Mapped[str] = mapped_column(String(256), nullable=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    consumed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    consumed_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    run_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class LeaseRow(Base):
    """A named lease: the holder may act until `expires`, then anyone may take it."""

    __tablename__ = "pipeline_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(256), nullable=False)
    acquired: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
