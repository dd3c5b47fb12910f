"""Deployments: endpoints, the model versions behind them, and their history.

Revision ID: 0004_deploy
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_deploy"
down_revision = "0003"
branch_labels = ("deploy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("target_options", sa.JSON, nullable=True),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.JSON, nullable=True),
        sa.Column("rollout", sa.JSON, nullable=True),
        sa.Column("router_pid", sa.Integer, nullable=True),
        sa.Column("router_host", sa.String(256), nullable=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.UniqueConstraint("name", name="uq_deployments_name"),
    )
    op.create_table(
        "deployment_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.Integer,
                  sa.ForeignKey("deployments.id", ondelete="CASCADE",
                                name="fk_deployment_versions_deployment"), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_ref", sa.String(1024), nullable=True),
        sa.Column("model_uri", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(2048), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("healthy", sa.Boolean, nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("container_id", sa.String(128), nullable=True),
        sa.Column("image", sa.String(512), nullable=True),
        sa.Column("port", sa.Integer, nullable=True),
        sa.Column("url", sa.String(512), nullable=True),
        sa.Column("log_path", sa.String(2048), nullable=True),
        sa.Column("stats", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_deployment_versions_deployment_id", "deployment_versions",
                    ["deployment_id"])
    op.create_index("ix_deployment_versions_deployment_role", "deployment_versions",
                    ["deployment_id", "role"])
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.Integer,
                  sa.ForeignKey("deployments.id", ondelete="CASCADE",
                                name="fk_deployment_events_deployment"), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
    )
    op.create_index("ix_deployment_events_deployment_id", "deployment_events",
                    ["deployment_id"])


def downgrade() -> None:
    op.drop_index("ix_deployment_events_deployment_id", table_name="deployment_events")
    op.drop_table("deployment_events")
    op.drop_index("ix_deployment_versions_deployment_role", table_name="deployment_versions")
    op.drop_index("ix_deployment_versions_deployment_id", table_name="deployment_versions")
    op.drop_table("deployment_versions")
    op.drop_table("deployments")
