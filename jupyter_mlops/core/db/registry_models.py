"""SQLAlchemy models of the model-registry tables (schema owned by migration 0004_registry).

MLflow keeps the *current* alias → version mapping (so `models:/churn@champion`
resolves everywhere MLflow is used); these tables keep what MLflow does not:
the history of every alias move (who, when, from which version to which, why,
and through which door: promote, gate, register, set, remove), every gate
decision with both scores, and which aliases of a model are protected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class AliasHistoryRow(Base):
    """One move of an alias: `from_version` → `to_version` (None: the alias did not exist /
    was removed)."""

    __tablename__ = "registry_alias_history"
    __table_args__ = (Index("ix_registry_alias_history_model_alias", "model", "alias", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(256), nullable=False)
    alias: Mapped[str] = mapped_column(String(256), nullable=False)
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    #: promote | gate | register | set | remove
    via: Mapped[str] = mapped_column(String(16), nullable=False)
    #: the gate result that moved it, when `via == "gate"`
    gate_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class GateResultRow(Base):
    """One champion/challenger decision, with everything needed to audit it later."""

    __tablename__ = "registry_gate_results"
    __table_args__ = (Index("ix_registry_gate_results_model", "model", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(256), nullable=False)
    challenger_version: Mapped[int] = mapped_column(Integer, nullable=False)
    champion_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: how the caller named them (`challenger`, `champion`, `3`)
    challenger_ref: Mapped[str] = mapped_column(String(256), nullable=False)
    champion_ref: Mapped[str | None] = mapped_column(String(256), nullable=True)
    #: `name@<full content hash>` of the held-out dataset version
    dataset: Mapped[str] = mapped_column(String(512), nullable=False)
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    task: Mapped[str] = mapped_column(String(32), nullable=False)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics_config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: {"challenger": {metric: value}, "champion": {metric: value} | None}
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: one entry per threshold checked: metric, rule, values, passed, message
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    promoted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    promoted_alias: Mapped[str | None] = mapped_column(String(256), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class AliasPolicyRow(Base):
    """The protected aliases of one model; no row means the default (`champion`)."""

    __tablename__ = "registry_alias_policies"

    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    protected: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
