"""SQLAlchemy model of the drift-check history (schema owned by migration 0004_drift).

The headline numbers live in columns so the history list and its filters
never parse reports; the full report (per-column rows and plot summaries,
a few kB per column) is `deferred` and loaded only for one check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from .models import Base, utcnow


class DriftCheckRow(Base):
    """One drift check: what was compared, with which options, and the outcome."""

    __tablename__ = "drift_checks"
    __table_args__ = (
        Index("ix_drift_checks_reference_dataset", "reference_dataset"),
        Index("ix_drift_checks_current_dataset", "current_dataset"),
        Index("ix_drift_checks_created", "created"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    origin: Mapped[str] = mapped_column(String(32), nullable=False)
    reference: Mapped[str] = mapped_column(String(300), nullable=False)
    reference_dataset: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reference_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current: Mapped[str] = mapped_column(String(300), nullable=False)
    current_dataset: Mapped[str | None] = mapped_column(String(128), nullable=True)
    current_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    drifted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    drift_share: Mapped[float] = mapped_column(Float, nullable=False)
    n_drifted: Mapped[int] = mapped_column(Integer, nullable=False)
    n_evaluated: Mapped[int] = mapped_column(Integer, nullable=False)
    n_columns: Mapped[int] = mapped_column(Integer, nullable=False)
    drifted_columns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    report: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, nullable=False))
