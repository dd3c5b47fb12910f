"""Monitors: drift monitors of deployments, their check history and their alerts.

A branch of its own (label "monitors") on top of the deploy branch, whose
deployments it watches; `migrate.upgrade_to_head` upgrades to all heads.
Alerts keep the monitor's name as text and no foreign key, so they outlive a
deleted monitor (an auditor still needs them).

Revision ID: 0005_monitors
Revises: 0004_deploy
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_monitors"
down_revision = "0004_deploy"
branch_labels = ("monitors",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(300), nullable=True),
        sa.Column("schedule", sa.String(128), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("columns", sa.JSON, nullable=True),
        sa.Column("thresholds", sa.JSON, nullable=True),
        sa.Column("tests", sa.JSON, nullable=True),
        sa.Column("drift_share", sa.Float, nullable=False),
        sa.Column("on_drift", sa.String(1024), nullable=True),
        sa.Column("min_rows", sa.Integer, nullable=False),
        sa.Column("cooldown_s", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(32), nullable=True),
        sa.Column("open_alert_id", sa.Integer, nullable=True),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.UniqueConstraint("name", name="uq_monitors_name"),
    )
    op.create_index("ix_monitors_deployment", "monitors", ["deployment"])
    op.create_index("ix_monitors_next_check_at", "monitors", ["next_check_at"])
    op.create_table(
        "monitor_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.Integer,
                  sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=True),
        sa.Column("share", sa.Float, nullable=True),
        sa.Column("n_drifted", sa.Integer, nullable=True),
        sa.Column("n_evaluated", sa.Integer, nullable=True),
        sa.Column("drifted_columns", sa.JSON, nullable=True),
        sa.Column("reference", sa.String(300), nullable=True),
        sa.Column("drift_check_id", sa.Integer, nullable=True),
        sa.Column("alert_id", sa.Integer, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
    )
    op.create_index("ix_monitor_checks_monitor_id", "monitor_checks", ["monitor_id", "id"])
    op.create_index("ix_monitor_checks_ts", "monitor_checks", ["ts"])
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.Integer, nullable=True),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("share", sa.Float, nullable=True),
        sa.Column("drifted_columns", sa.JSON, nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_id", sa.Integer, nullable=True),
        sa.Column("drift_check_id", sa.Integer, nullable=True),
        sa.Column("pipeline", sa.String(1024), nullable=True),
        sa.Column("trigger_id", sa.Integer, nullable=True),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON, nullable=True),
    )
    op.create_index("ix_monitor_alerts_monitor", "monitor_alerts", ["monitor"])
    op.create_index("ix_monitor_alerts_status", "monitor_alerts", ["status", "id"])
    op.create_index("ix_monitor_alerts_created", "monitor_alerts", ["created"])


def downgrade() -> None:
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_checks")
    op.drop_table("monitors")
