"""The dataset catalogue in the state DB: datasets, versions, tags, the stat cache.

Heavy work (copying, hashing, profiling) happens before any transaction;
what is left here are short transactions that begin with a write, so SQLite
takes its write lock up front and waits for (rather than fails against) a
concurrent snapshot in another process. Races that still slip through — two
processes creating the same dataset or the same version — surface as
integrity errors and are retried, after which the loser simply finds the
winner's row.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..db.dataset_models import DatasetRow, DatasetTagRow, DatasetVersionRow, FileHashCacheRow
from ..errors import BackendUnavailable, InvalidInput, NotFound
from ..workspace import Workspace
from .hashing import is_hash_prefix
from .types import DatasetSummary, DatasetVersion

T = TypeVar("T")
MIN_PREFIX = 4
RETRIES = 12
#: versions named in a "not found" message (the newest ones)
LISTED_IN_ERRORS = 20


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(ts: datetime) -> datetime:
    """SQLite returns naive datetimes; every value we write is UTC."""
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def with_retries(ws: Workspace, work: Callable[[Session], T]) -> T:
    """Run `work` in its own transaction, retrying lost races and lock timeouts."""
    for attempt in range(RETRIES):
        try:
            with ws.session() as session:
                return work(session)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
        except OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise BackendUnavailable(f"The state database failed: {exc}") from exc
            if attempt == RETRIES - 1:
                raise BackendUnavailable(f"The state database stayed locked: {exc}") from exc
        time.sleep(0.01 * (attempt + 1) + random.random() * 0.02)
    raise AssertionError("unreachable")


def _insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING where the dialect has it (the common case)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        if session.scalar(select(table).filter_by(name=values["name"])) is None:
            session.add(table(**values))
            session.flush()
        return
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


def ensure_dataset(session: Session, name: str, description: str | None = None) -> DatasetRow:
    now = utcnow()
    _insert_ignore(session, DatasetRow, {"name": name, "description": description,
                                         "created": now, "updated": now})
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    assert row is not None
    if description and not row.description:
        row.description = description
    return row


def get_dataset(session: Session, name: str) -> DatasetRow:
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    if row is None:
        names = session.scalars(select(DatasetRow.name).order_by(DatasetRow.name).limit(50)).all()
        known = ", ".join(names) if names else "none yet"
        raise NotFound(f"No dataset named {name!r}. Datasets: {known}.",
                       details={"name": name, "datasets": list(names)})
    return row


def _tags_by_version(session: Session, dataset_id: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = session.execute(select(DatasetTagRow.version_id, DatasetTagRow.tag)
                           .where(DatasetTagRow.dataset_id == dataset_id)
                           .order_by(DatasetTagRow.tag))
    for version_id, tag in rows:
        out.setdefault(version_id, []).append(tag)
    return out


def to_version(ws: Workspace, name: str, row: DatasetVersionRow, tags: list[str],
               location: Callable[[str], str] | None = None,
               profile: Any = None, with_profile: bool = False) -> DatasetVersion:
    version = DatasetVersion(
        name=name, version=row.version, kind=row.kind, created=_aware(row.created),
        bytes=row.bytes, rows=row.rows, files=row.files, schema=row.schema_json, tags=tags,
        description=row.description, source=row.source,
        path=location(row.version) if location else None, hash_algo=row.hash_algo,
        sha256=row.sha256, actor=row.actor, snapshotted=_aware(row.snapshotted), id=row.id,
        _workspace=ws)
    if with_profile:
        version.profile = profile
    return version


def record_version(ws: Workspace, name: str, values: dict[str, Any], tags: list[str],
                   description: str | None) -> tuple[int, bool]:
    """Insert the version (or find the identical one) and move the tags onto it."""

    def work(session: Session) -> tuple[int, bool]:
        now = utcnow()
        dataset = ensure_dataset(session, name, description)
        row = session.scalar(select(DatasetVersionRow).where(
            DatasetVersionRow.dataset_id == dataset.id,
            DatasetVersionRow.version == values["version"]))
        new = row is None
        if row is None:
            row = DatasetVersionRow(dataset_id=dataset.id, created=now, snapshotted=now,
                                    description=description, **values)
            session.add(row)
            session.flush()
        else:
            row.snapshotted = now
            if description:
                row.description = description
            if values.get("profile") is not None and row.profile is None:
                row.profile = values["profile"]
        for tag in tags:
            existing = session.get(DatasetTagRow, (dataset.id, tag))
            if existing is None:
                session.add(DatasetTagRow(dataset_id=dataset.id, tag=tag, version_id=row.id,
                                          created=now))
            elif existing.version_id != row.id:
                existing.version_id, existing.created = row.id, now
        dataset.updated = now
        session.flush()
        return row.id, new

    return with_retries(ws, work)


def _candidates_text(rows: Iterable[DatasetVersionRow], tags: dict[int, list[str]]) -> str:
    parts = []
    for row in rows:
        label = row.version[:12]
        if tags.get(row.id):
            label += f" ({', '.join(tags[row.id])})"
        parts.append(label)
    return ", ".join(parts)


def resolve_row(session: Session, name: str, ref: str | None) -> tuple[DatasetVersionRow, list[str]]:
    """`latest`, then a tag, then a unique hash prefix (at least 4 hex digits)."""
    dataset = get_dataset(session, name)
    ref = "latest" if ref in (None, "") else str(ref)
    tags = _tags_by_version(session, dataset.id)
    base = select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset.id)
    newest_first = base.order_by(DatasetVersionRow.snapshotted.desc(), DatasetVersionRow.id.desc())
    row: DatasetVersionRow | None = None
    if ref == "latest":
        row = session.scalar(newest_first.limit(1))
        if row is None:
            raise NotFound(f"Dataset {name!r} has no versions yet.",
                           details={"name": name, "versions": []})
        return row, tags.get(row.id, [])
    tag_row = session.get(DatasetTagRow, (dataset.id, ref))
    if tag_row is not None:
        row = session.get(DatasetVersionRow, tag_row.version_id)
        assert row is not None
        return row, tags.get(row.id, [])
    prefix = ref.lower()
    if len(prefix) >= MIN_PREFIX and is_hash_prefix(prefix):
        matches = session.scalars(base.where(DatasetVersionRow.version.startswith(prefix))
                                  .order_by(DatasetVersionRow.id)).all()
        if len(matches) == 1:
            return matches[0], tags.get(matches[0].id, [])
        if len(matches) > 1:
            raise InvalidInput(
                f"Version prefix {ref!r} of dataset {name!r} is ambiguous: it matches "
                f"{_candidates_text(matches, tags)}. Give more characters.",
                details={"name": name, "candidates": [m.version for m in matches]})
    existing = session.scalars(newest_first.limit(LISTED_IN_ERRORS)).all()
    listed = _candidates_text(existing, tags) or "none yet"
    hint = "" if len(prefix) >= MIN_PREFIX or not is_hash_prefix(prefix) else \
        f" (a hash prefix needs at least {MIN_PREFIX} characters)"
    raise NotFound(
        f"Dataset {name!r} has no version {ref!r}{hint}. Versions: {listed}; "
        "or use 'latest' or a tag.",
        details={"name": name, "ref": ref, "versions": [r.version for r in existing],
                 "tags": sorted(t for ts in tags.values() for t in ts)})


def resolve(ws: Workspace, name: str, ref: str | None, location: Callable[[str], str],
            with_profile: bool = True) -> DatasetVersion:
    with ws.session() as session:
        row, tags = resolve_row(session, name, ref)
        profile = row.profile if with_profile else None
        return to_version(ws, name, row, tags, location, profile, with_profile)


def version_by_id(ws: Workspace, name: str, version_id: int,
                  location: Callable[[str], str]) -> DatasetVersion:
    """The row just written, without the (possibly large) profile."""
    with ws.session() as session:
        row = session.get(DatasetVersionRow, version_id)
        if row is None:  # deleted between our write and this read
            raise NotFound(f"Version {version_id} of dataset {name!r} was just deleted.")
        tags = session.scalars(select(DatasetTagRow.tag)
                               .where(DatasetTagRow.version_id == version_id)
                               .order_by(DatasetTagRow.tag)).all()
        return to_version(ws, name, row, list(tags), location)


def load_profile(ws: Workspace, version_id: int) -> dict[str, Any] | None:
    with ws.session() as session:
        return session.scalar(select(DatasetVersionRow.profile)
                              .where(DatasetVersionRow.id == version_id))


def set_profile(ws: Workspace, version_id: int, profile: dict[str, Any]) -> None:
    def work(session: Session) -> None:
        row = session.get(DatasetVersionRow, version_id)
        if row is not None:
            row.profile = profile
            # a CSV/JSON file learns its size and columns only when profiled: keep them,
            # so listings and diffs show rows and retyped columns like a table version
            if row.rows is None:
                row.rows = profile.get("rows")
            if row.schema_json is None:
                row.schema_json = [{"name": c["name"], "dtype": c["dtype"]}
                                   for c in profile.get("columns", [])]

    with_retries(ws, work)


def set_sha256(ws: Workspace, version: str, digest: str) -> None:
    """Every row naming this object gets the digest: they share the bytes."""

    def work(session: Session) -> None:
        for row in session.scalars(select(DatasetVersionRow)
                                   .where(DatasetVersionRow.version == version)):
            row.sha256 = digest

    with_retries(ws, work)


def list_versions(ws: Workspace, name: str, location: Callable[[str], str]) -> list[DatasetVersion]:
    with ws.session() as session:
        dataset = get_dataset(session, name)
        tags = _tags_by_version(session, dataset.id)
        rows = session.scalars(select(DatasetVersionRow)
                               .where(DatasetVersionRow.dataset_id == dataset.id)
                               .order_by(DatasetVersionRow.snapshotted.desc(),
                                         DatasetVersionRow.id.desc())).all()
        return [to_version(ws, name, row, tags.get(row.id, []), location) for row in rows]


def list_datasets(ws: Workspace) -> list[DatasetSummary]:
    with ws.session() as session:
        datasets = session.scalars(select(DatasetRow).order_by(DatasetRow.name)).all()
        counts = dict(session.execute(select(DatasetVersionRow.dataset_id, func.count())
                                      .group_by(DatasetVersionRow.dataset_id)).all())
        out = []
        for ds in datasets:
            latest = session.scalar(select(DatasetVersionRow)
                                    .where(DatasetVersionRow.dataset_id == ds.id)
                                    .order_by(DatasetVersionRow.snapshotted.desc(),
                                              DatasetVersionRow.id.desc()).limit(1))
            tag_rows = session.execute(
                select(DatasetTagRow.tag, DatasetVersionRow.version)
                .join(DatasetVersionRow, DatasetVersionRow.id == DatasetTagRow.version_id)
                .where(DatasetTagRow.dataset_id == ds.id).order_by(DatasetTagRow.tag)).all()
            out.append(DatasetSummary(
                name=ds.name, description=ds.description, created=_aware(ds.created),
                updated=_aware(ds.updated), versions=int(counts.get(ds.id, 0)),
                latest=latest.version if latest else None,
                latest_kind=latest.kind if latest else None,
                latest_rows=latest.rows if latest else None,
                latest_bytes=latest.bytes if latest else None,
                tags={tag: version for tag, version in tag_rows},
                has_expectations=bool(ds.expectations)))
        return out


def delete_version(ws: Workspace, name: str, ref: str) -> str:
    """Forget one version (its tags go with it); the object stays until `gc`."""

    def work(session: Session) -> str:
        row, _tags = resolve_row(session, name, ref)
        for tag in session.scalars(select(DatasetTagRow)
                                   .where(DatasetTagRow.version_id == row.id)):
            session.delete(tag)
        session.delete(row)
        return row.version

    return with_retries(ws, work)


def referenced_objects(ws: Workspace) -> list[tuple[str, str]]:
    """(object hash, kind) of every version of every dataset."""
    with ws.session() as session:
        return [(v, k) for v, k in session.execute(
            select(DatasetVersionRow.version, DatasetVersionRow.kind).distinct())]


def get_expectations(ws: Workspace, name: str) -> dict[str, Any] | None:
    with ws.session() as session:
        return get_dataset(session, name).expectations


def store_expectations(ws: Workspace, name: str, spec: dict[str, Any] | None) -> None:
    def work(session: Session) -> None:
        ensure_dataset(session, name).expectations = spec

    with_retries(ws, work)


# -- stat cache ------------------------------------------------------------------------------
#: an entry whose mtime is this close to when it was hashed is not trusted (same clock tick)
RACY_WINDOW_NS = 2_000_000_000


def _trusted(row: FileHashCacheRow | None, st: Any) -> str | None:
    if row is None:
        return None
    same = (row.device, row.inode, row.size, row.mtime_ns) == \
        (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if not same or row.checked_ns - row.mtime_ns < RACY_WINDOW_NS:
        return None
    return row.hash


def cached_hash(ws: Workspace, path: str, st: Any) -> str | None:
    """The hash recorded for this exact (device, inode, size, mtime), if trustworthy."""
    with ws.session() as session:
        return _trusted(session.get(FileHashCacheRow, path), st)


class FolderHashCache:
    """The stat cache of every file under a folder, read in one query.

    A folder of ten thousand files would otherwise cost ten thousand lookups.
    """

    def __init__(self, ws: Workspace, folder: str) -> None:
        prefix = folder.rstrip("/") + "/"
        with ws.session() as session:
            rows = session.scalars(select(FileHashCacheRow).where(
                FileHashCacheRow.path.startswith(prefix, autoescape=True))).all()
        self.rows = {row.path: row for row in rows}

    def get(self, path: str, st: Any) -> str | None:
        return _trusted(self.rows.get(path), st)


def remember_hashes(ws: Workspace, entries: list[tuple[str, Any, str]]) -> None:
    """Record (path, stat, hash) triples taken while the file was unchanged."""
    if not entries:
        return
    now_ns = time.time_ns()

    def work(session: Session) -> None:
        for path, st, digest in entries:
            row = session.get(FileHashCacheRow, path)
            values = dict(device=st.st_dev, inode=st.st_ino, size=st.st_size,
                          mtime_ns=st.st_mtime_ns, hash=digest, checked_ns=now_ns)
            if row is None:
                session.add(FileHashCacheRow(path=path, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

    with_retries(ws, work)
