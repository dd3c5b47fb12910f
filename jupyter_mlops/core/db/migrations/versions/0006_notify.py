"""Notifications: webhooks over the activity log, and their delivery attempts.

A branch of its own (label "notify") on top of the pipelines branch, whose
`pipeline_leases` table holds the `notifier` lease (one deliverer at a time
when several servers share the database); `migrate.upgrade_to_head` upgrades
to all heads. A webhook's cursor is an id of `events` (revision 0001).

Revision ID: 0006_notify
Revises: 0004_pipelines
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_notify"
down_revision = "0004_pipelines"
branch_labels = ("notify",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("secret", sa.String(256), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("last_event_id", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.UniqueConstraint("name", name="uq_webhooks_name"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Integer,
                  sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("ms", sa.Float, nullable=True),
        sa.Column("holder", sa.String(256), nullable=True),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries",
                    ["webhook_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_webhook_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
