"""SQLAlchemy models of the deployment tables (schema owned by migration 0004_deploy).

- `deployments`: one stable endpoint (the router) per row: its name, port, the
  desired state (`running`/`stopped`) and the observed status, the rollout
  strategy and its progress, and the router process that serves it.
- `deployment_versions`: the model versions behind a deployment, each with
  its role (`stable`, `candidate`, `standby`, `retired`), traffic weight,
  where it runs (pid or container id, port) and its last health figures.
- `deployment_events`: the deployment's own history (rollouts, promotions,
  automatic rollbacks, health changes); the workspace activity log gets the
  same entries as `deploy.<what>` events.
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

from .models import Base, utcnow


class DeploymentRow(Base):
    """A deployment: one stable endpoint routing to one or more model versions."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("name", name="uq_deployments_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str] = mapped_column(String(32), nullable=False, default="local")
    target_options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    host: Mapped[str] = mapped_column(String(128), nullable=False, default="127.0.0.1")
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    #: what the user asked for: running or stopped
    desired: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    #: what the supervisor last reported: starting, running, degraded, failed, stopped
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="starting")
    #: the rollout strategy, e.g. {"kind": "canary", "steps": [5, 25, 50, 100], "bake": 60}
    strategy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: progress of the running rollout (canary step, when it started, why it ended)
    rollout: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    router_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    router_host: Mapped[str | None] = mapped_column(String(256), nullable=True)
    token: Mapped[str] = mapped_column(String(64), nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stopped: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)


class DeploymentVersionRow(Base):
    """A model version behind a deployment and the process or container serving it."""

    __tablename__ = "deployment_versions"
    __table_args__ = (
        Index("ix_deployment_versions_deployment_role", "deployment_id", "role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False, index=True)
    #: `<model>/<version>`, what the X-MLOps-Version header names
    key: Mapped[str] = mapped_column(String(320), nullable=False)
    model_name: Mapped[str] = mapped_column(String(256), nullable=False)
    model_version: Mapped[str] = mapped_column(String(64), nullable=False)
    #: the reference the user gave (`churn@champion`) and what it resolved to
    model_ref: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    model_uri: Mapped[str] = mapped_column(String(2048), nullable=False)
    source: Mapped[str] = mapped_column(String(2048), nullable=False)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str] = mapped_column(String(32), nullable=False, default="local")
    #: stable, candidate, standby, retired
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    #: starting, running, stopping, stopped, failed
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="starting")
    healthy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    container_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    image: Mapped[str | None] = mapped_column(String(512), nullable=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    log_path: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    #: the last health figures: requests, rate, error rate, p50/p95 latency
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stopped: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeploymentEventRow(Base):
    """One entry of a deployment's own history."""

    __tablename__ = "deployment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False, index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
