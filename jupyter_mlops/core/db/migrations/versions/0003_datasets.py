"""Dataset snapshots: datasets, their content-addressed versions, tags, a stat cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expectations", sa.JSON, nullable=True),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.Integer,
                  sa.ForeignKey("datasets.id", ondelete="CASCADE",
                                name="fk_dataset_versions_dataset"), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("hash_algo", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshotted", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=True),
        sa.Column("files", sa.Integer, nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("schema_json", sa.JSON, nullable=True),
        sa.Column("profile", sa.JSON, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
    )
    op.create_index("ix_dataset_versions_dataset_id", "dataset_versions", ["dataset_id"])
    op.create_index("ix_dataset_versions_version", "dataset_versions", ["version"])
    op.create_table(
        "dataset_tags",
        sa.Column("dataset_id", sa.Integer,
                  sa.ForeignKey("datasets.id", ondelete="CASCADE",
                                name="fk_dataset_tags_dataset"), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer,
                  sa.ForeignKey("dataset_versions.id", ondelete="CASCADE",
                                name="fk_dataset_tags_version"), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dataset_tags_version_id", "dataset_tags", ["version_id"])
    op.create_table(
        "dataset_file_cache",
        sa.Column("path", sa.String(4096), primary_key=True),
        sa.Column("device", sa.BigInteger, nullable=False),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("checked_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dataset_file_cache")
    op.drop_index("ix_dataset_tags_version_id", table_name="dataset_tags")
    op.drop_table("dataset_tags")
    op.drop_index("ix_dataset_versions_version", table_name="dataset_versions")
    op.drop_index("ix_dataset_versions_dataset_id", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")

