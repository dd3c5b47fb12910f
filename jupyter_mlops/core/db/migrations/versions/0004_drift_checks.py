"""Drift checks: the history of reference-vs-current comparisons and their reports.

A branch of its own (label "drift") from 0003, so capabilities landing at the
same time add sibling branches instead of fighting over one linear head;
`migrate.upgrade_to_head` upgrades to all heads. No foreign key to dataset
versions: a check must outlive the versions it compared (it records names and
hashes as text).

Revision ID: 0004_drift
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_drift"
down_revision = "0003"
branch_labels = ("drift",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(300), nullable=False),
        sa.Column("reference_dataset", sa.String(128), nullable=True),
        sa.Column("reference_version", sa.String(64), nullable=True),
        sa.Column("current", sa.String(300), nullable=False),
        sa.Column("current_dataset", sa.String(128), nullable=True),
        sa.Column("current_version", sa.String(64), nullable=True),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("share", sa.Float, nullable=True),
        sa.Column("drift_share", sa.Float, nullable=False),
        sa.Column("n_drifted", sa.Integer, nullable=False),
        sa.Column("n_evaluated", sa.Integer, nullable=False),
        sa.Column("n_columns", sa.Integer, nullable=False),
        sa.Column("drifted_columns", sa.JSON, nullable=True),
        sa.Column("options", sa.JSON, nullable=True),
        sa.Column("report", sa.JSON, nullable=False),
    )
    op.create_index("ix_drift_checks_reference_dataset", "drift_checks", ["reference_dataset"])
    op.create_index("ix_drift_checks_current_dataset", "drift_checks", ["current_dataset"])
    op.create_index("ix_drift_checks_created", "drift_checks", ["created"])


def downgrade() -> None:
    op.drop_index("ix_drift_checks_created", table_name="drift_checks")
    op.drop_index("ix_drift_checks_current_dataset", table_name="drift_checks")
    op.drop_index("ix_drift_checks_reference_dataset", table_name="drift_checks")
    op.drop_table("drift_checks")
