"""SQLAlchemy models of the dataset snapshot tables (schema owned by migration 0003).

A version row is small and points at its content by hash; the bytes live in
the object store. The profile is kept with the row (not as an object) because
the drift capability and the panel read it far more often than the data, and
a JSON column answers without touching the object store. `deferred` keeps it
out of list queries, where it would be the only large field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class DatasetRow(Base):
    """A named dataset: the stable handle users snapshot into and load from."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", name="uq_datasets_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    expectations: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DatasetVersionRow(Base):
    """One content version of a dataset; `version` is the object's content hash."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
        Index("ix_dataset_versions_version", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False, index=True)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    hash_algo: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    #: last time this content was snapshotted under this name: what `latest` follows,
    #: so re-snapshotting older content makes it the latest again without a new row
    snapshotted: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                  nullable=False)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    files: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    schema_json: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DatasetTagRow(Base):
    """A movable label (`prod`, `baseline`) naming one version of a dataset."""

    __tablename__ = "dataset_tags"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), nullable=False, index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)


class FileHashCacheRow(Base):
    """What a file hashed to when it had this (device, inode, size, mtime).

    Lets an unchanged large file be recognised from one `stat` instead of a
    full read. `checked_ns` is when the hash was taken: a file modified in the
    same clock tick as an earlier hash could keep its mtime, so entries whose
    mtime is that close to `checked_ns` are not trusted (git's "racily clean").
    """

    __tablename__ = "dataset_file_cache"

    path: Mapped[str] = mapped_column(String(4096), primary_key=True)
    device: Mapped[int] = mapped_column(BigInteger, nullable=False)
    inode: Mapped[int] = mapped_column(BigInteger, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    checked_ns: Mapped[int] = mapped_column(BigInteger, nullable=False)
