"""Model registry: alias history, gate results, protected-alias policies.

Revision ID: 0004_registry
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_registry"
down_revision = "0003"
branch_labels = ("registry",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_alias_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("gate_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_registry_alias_history_model_alias", "registry_alias_history",
                    ["model", "alias", "id"])
    op.create_table(
        "registry_gate_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("challenger_version", sa.Integer, nullable=False),
        sa.Column("champion_version", sa.Integer, nullable=True),
        sa.Column("challenger_ref", sa.String(256), nullable=False),
        sa.Column("champion_ref", sa.String(256), nullable=True),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("metrics_config", sa.JSON, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("checks", sa.JSON, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("promoted", sa.Boolean, nullable=False),
        sa.Column("promoted_alias", sa.String(256), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_registry_gate_results_model", "registry_gate_results", ["model", "id"])
    op.create_table(
        "registry_alias_policies",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("protected", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registry_alias_policies")
    op.drop_index("ix_registry_gate_results_model", table_name="registry_gate_results")
    op.drop_table("registry_gate_results")
    op.drop_index("ix_registry_alias_history_model_alias", table_name="registry_alias_history")
    op.drop_table("registry_alias_history")
