"""Pipelines: runs, step runs, schedules, trigger events and a scheduler lease.

Revision ID: 0004_pipelines
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_pipelines"
down_revision = "0003"
branch_labels = ("pipelines",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline", sa.String(1024), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("cron", sa.String(128), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("catch_up", sa.String(16), nullable=False),
        sa.Column("max_backfill", sa.Integer, nullable=False),
        sa.Column("triggers", sa.JSON, nullable=True),
        sa.Column("parameters", sa.JSON, nullable=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
    )
    op.create_index("ix_pipeline_schedules_pipeline", "pipeline_schedules", ["pipeline"])
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("pipeline", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("trigger_detail", sa.JSON, nullable=True),
        sa.Column("schedule_id", sa.Integer,
                  sa.ForeignKey("pipeline_schedules.id", ondelete="SET NULL",
                                name="fk_pipeline_runs_schedule"), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parameters", sa.JSON, nullable=True),
        sa.Column("spec", sa.JSON, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_host", sa.String(256), nullable=True),
        sa.Column("owner_pid", sa.Integer, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("rerun_of", sa.String(40), nullable=True),
        sa.UniqueConstraint("schedule_id", "scheduled_for", name="uq_pipeline_runs_schedule_slot"),
    )
    op.create_index("ix_pipeline_runs_pipeline_status", "pipeline_runs", ["pipeline", "status"])
    op.create_index("ix_pipeline_runs_status", "pipeline_runs", ["status"])
    op.create_table(
        "pipeline_step_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40),
                  sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE",
                                name="fk_pipeline_step_runs_run"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("notebook", sa.String(1024), nullable=False),
        sa.Column("depends_on", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=True),
        sa.Column("outputs", sa.JSON, nullable=True),
        sa.Column("output_notebook", sa.String(1024), nullable=True),
        sa.Column("log_path", sa.String(1024), nullable=True),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.Column("cells_done", sa.Integer, nullable=False),
        sa.Column("cells_total", sa.Integer, nullable=True),
        sa.Column("current_cell", sa.Integer, nullable=True),
        sa.Column("progress_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("error_cell_index", sa.Integer, nullable=True),
        sa.Column("error_ename", sa.String(256), nullable=True),
        sa.Column("error_evalue", sa.Text, nullable=True),
        sa.Column("error_traceback", sa.Text, nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("kernel_pid", sa.Integer, nullable=True),
        sa.UniqueConstraint("run_id", "name", name="uq_pipeline_step_runs_run_name"),
    )
    op.create_index("ix_pipeline_step_runs_run_id", "pipeline_step_runs", ["run_id"])
    op.create_table(
        "pipeline_trigger_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed", sa.Boolean, nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_by", sa.String(256), nullable=True),
        sa.Column("run_ids", sa.JSON, nullable=True),
    )
    op.create_index("ix_pipeline_trigger_events_consumed", "pipeline_trigger_events",
                    ["consumed", "id"])
    op.create_table(
        "pipeline_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("acquired", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_leases")
    op.drop_index("ix_pipeline_trigger_events_consumed", table_name="pipeline_trigger_events")
    op.drop_table("pipeline_trigger_events")
    op.drop_index("ix_pipeline_step_runs_run_id", table_name="pipeline_step_runs")
    op.drop_table("pipeline_step_runs")
    op.drop_index("ix_pipeline_runs_status", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_pipeline_status", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_index("ix_pipeline_schedules_pipeline", table_name="pipeline_schedules")
    op.drop_table("pipeline_schedules")
