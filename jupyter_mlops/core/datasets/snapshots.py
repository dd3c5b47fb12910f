"""Snapshot data into content-addressed versions.

Three kinds of data, one rule — a version is named by the hash of the bytes
stored for it, so the same data snapshotted twice is the same version:

* **table** (a pandas DataFrame or pyarrow Table): written as Parquet with
  fixed settings and hashed as written. Identical frames give identical bytes
  with the same pandas/pyarrow; hashing the file (not the in-memory buffers)
  also means an object can always be re-verified against its name. The
  profile is computed from the frame at the same time.
* **file**: its bytes. An unchanged file is recognised from `stat` alone
  (device, inode, size, mtime in the state DB), so a re-snapshot of a large
  file costs a few milliseconds; `verify=True` re-reads it anyway.
* **folder**: a manifest (sorted relative paths with hashes and sizes), stored
  as a JSON object itself; each file is an object, shared across versions.

Relative paths resolve against the current directory, like `open()`. The
REST layer must confine user-given paths with `Workspace.resolve_path` first.
"""

from __future__ import annotations

import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidInput
from ..events import current_actor, record_event
from ..workspace import Workspace
from . import catalog
from .access import TABULAR_SUFFIXES, get_version, profile_version
from .hashing import HASH_ALGO
from .objects import ObjectStore, gc_lock, store_for
from .profile import frame_schema, profile_frame
from .runtime import notify, resolve_workspace
from .types import DatasetVersion, validate_name, validate_tags

#: pinned so identical frames give identical bytes; snappy is pyarrow's default and the
#: fastest to write here (zstd-1 files are ~5% smaller but take ~35% longer to write)
PARQUET_OPTIONS = {"compression": "snappy", "use_dictionary": True, "write_statistics": True}
SUPPORTED = ("a pandas DataFrame, a pyarrow Table, a path to a file "
             "(CSV, Parquet, JSON or any binary) or a path to a folder")


def _source_text(ws: Workspace, path: Path) -> str:
    try:
        return path.relative_to(ws.root).as_posix()
    except ValueError:
        return str(path)


# -- tables ----------------------------------------------------------------------------------
def _arrow_table(data: Any) -> Any:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if data.columns.duplicated().any():
        dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise InvalidInput(f"The DataFrame has duplicate column names {dupes}; "
                           "Parquet needs unique names.")
    try:
        return pa.Table.from_pandas(data, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidInput(f"The DataFrame cannot be stored as Parquet: {exc}. Columns with "
                           "mixed types usually need a cast, e.g. df[col].astype(str).") from exc


def _ingest_table(store: ObjectStore, data: Any, want_profile: bool) -> dict[str, Any]:
    import pyarrow.parquet as pq

    table = _arrow_table(data)
    frame = data if isinstance(data, pd.DataFrame) else table.to_pandas()
    # Parquet encoding and the profile's sorts both release the GIL: overlap them, so
    # profiling costs (almost) no wall time next to the write the snapshot needs anyway
    with ThreadPoolExecutor(1, thread_name_prefix="mlops-profile") as pool:
        pending = pool.submit(profile_frame, frame) if want_profile else None
        result = store.write(lambda tmp: pq.write_table(table, tmp, **PARQUET_OPTIONS))
        profile = pending.result() if pending is not None else None
    return {"version": result.key, "kind": "table", "bytes": result.size,
            "rows": int(table.num_rows), "files": None, "source": None,
            "schema_json": frame_schema(frame), "profile": profile, "_new_object": result.created}


# -- files and folders -----------------------------------------------------------------------
def _ingest_file(ws: Workspace, store: ObjectStore, path: Path, verify: bool,
                 cache: list[tuple[str, Any, str]],
                 known: catalog.FolderHashCache | None = None) -> tuple[str, int, bool]:
    """(hash, size, stored new bytes) of one file; the stat cache skips unchanged ones."""
    before = path.stat()
    if verify:
        key = None
    elif known is not None:
        key = known.get(str(path), before)
    else:
        key = catalog.cached_hash(ws, str(path), before)
    if key is not None and store.exists(key):
        store.touch(key)
        return key, before.st_size, False
    result = store.put_file(path)
    after = path.stat()
    if (before.st_ino, before.st_size, before.st_mtime_ns) == \
            (after.st_ino, after.st_size, after.st_mtime_ns):
        cache.append((str(path), after, result.key))
    return result.key, result.size, result.created


def _file_meta(store: ObjectStore, key: str, suffix: str
               ) -> tuple[int | None, list[dict[str, str]] | None]:
    """Rows and schema of a Parquet file from its footer alone (no data read).

    Read from the stored object, not the source: the source may have changed since.
    """
    if suffix.lower() not in (".parquet", ".pq"):
        return None, None
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(store.local_path(key)).metadata
        schema = meta.schema.to_arrow_schema()
        return meta.num_rows, [{"name": f.name, "dtype": str(f.type)} for f in schema]
    except Exception:  # not really Parquet: it is still a file snapshot
        return None, None


def _walk(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in (".mlops", ".git", "__pycache__",
                                                       ".ipynb_checkpoints"))
        files.extend(Path(root) / n for n in sorted(names))
    return files


def _ingest_folder(ws: Workspace, store: ObjectStore, folder: Path, verify: bool,
                   cache: list[tuple[str, Any, str]]) -> dict[str, Any]:
    entries = []
    total = 0
    folder = folder.resolve()
    known = None if verify else catalog.FolderHashCache(ws, str(folder))
    for path in _walk(folder):
        if path.is_symlink() and not path.resolve().is_relative_to(folder):
            continue  # never pull outside data in through a link
        if not path.is_file():
            continue
        key, size, _ = _ingest_file(ws, store, path, verify, cache, known)
        entries.append({"path": path.relative_to(folder).as_posix(), "hash": key, "size": size})
        total += size
    if not entries:
        raise InvalidInput(f"Folder {folder} has no files to snapshot.")
    manifest = {"format": 1, "hash_algo": HASH_ALGO, "files": entries}
    blob = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    result = store.put_bytes(blob)
    return {"version": result.key, "kind": "folder", "bytes": total, "rows": None,
            "files": len(entries), "schema_json": None, "profile": None,
            "_new_object": result.created}


def _as_path(data: Any) -> Path | None:
    if isinstance(data, (str, os.PathLike)) and not isinstance(data, bytes):
        raw = os.fspath(data)
        if not raw or "\x00" in raw:
            raise InvalidInput("A path to snapshot must be a non-empty string.")
        return Path(raw).expanduser().absolute()
    return None


def snapshot(data: Any, name: str, tags: list[str] | str | None = None,
             description: str | None = None, workspace: Workspace | None = None, *,
             profile: bool | None = None, verify: bool = False) -> DatasetVersion:
    """Store `data` as a version of dataset `name`; unchanged data returns the same version.

    `profile=None` profiles tables (always cheap next to writing them) and
    skips files, whose parsing could cost more than the snapshot itself; call
    `profile_version` later, or pass `profile=True`, for a CSV/Parquet file.
    Tags move: tagging a version `prod` takes the tag off the previous one.
    """
    validate_name(name)
    tag_list = validate_tags(tags)
    ws = resolve_workspace(workspace)
    store = store_for(ws)
    path = _as_path(data)
    import pyarrow as pa

    if not isinstance(data, (pd.DataFrame, pa.Table)) and path is None:
        if isinstance(data, pd.Series):
            raise TypeError(f"Cannot snapshot a pandas Series; use series.to_frame(). "
                            f"Supported: {SUPPORTED}.")
        raise TypeError(f"Cannot snapshot a {type(data).__module__}.{type(data).__qualname__}. "
                        f"Supported: {SUPPORTED}.")
    if path is not None and not path.exists():
        raise InvalidInput(f"There is no file or folder at {path}.")
    if profile and path is not None and (path.is_dir()
                                         or path.suffix.lower() not in TABULAR_SUFFIXES):
        raise InvalidInput(f"profile=True needs a table or a tabular file "
                           f"({', '.join(TABULAR_SUFFIXES)}); {path.name} is not one.")
    with gc_lock(ws, exclusive=False):
        values, version_id, new = _store_and_record(ws, store, data, path, name, tag_list,
                                                    description, profile, verify)
    version = catalog.version_by_id(ws, name, version_id, store.location)
    version.new = new
    if values["kind"] == "file" and profile:
        try:
            profile_version(name, version.version, workspace=ws)
            version = get_version(name, version.version, ws)  # with its rows and columns
            version.new = new
        except InvalidInput as exc:  # the version is stored: say why it has no profile
            warnings.warn(f"{name}@{version.short} was stored without a profile: "
                          f"{exc.message}", stacklevel=2)
    elif values["profile"] is not None:
        version.profile = values["profile"]
    record_event(ws, "datasets.snapshot",
                 f"{'Snapshot' if new else 'Unchanged snapshot'} of {name} at {version.short}",
                 subject=name, data={"version": version.version, "kind": version.kind,
                                     "rows": version.rows, "bytes": version.bytes,
                                     "tags": tag_list, "new": new})
    notify(version, "snapshot")
    return version


def _store_and_record(ws: Workspace, store: ObjectStore, data: Any, path: Path | None,
                      name: str, tag_list: list[str], description: str | None,
                      profile: bool | None, verify: bool) -> tuple[dict[str, Any], int, bool]:
    """Write the object, then the row: gc must never see one without the other."""
    cache: list[tuple[str, Any, str]] = []
    if path is None:
        values = _ingest_table(store, data, want_profile=profile is not False)
    else:
        if path.is_dir():
            values = _ingest_folder(ws, store, path, verify, cache)
        else:
            key, size, created = _ingest_file(ws, store, path, verify, cache)
            rows, schema = _file_meta(store, key, path.suffix)
            values = {"version": key, "kind": "file", "bytes": size, "rows": rows, "files": None,
                      "schema_json": schema, "profile": None, "_new_object": created}
        values["source"] = _source_text(ws, path)
    values.pop("_new_object")
    catalog.remember_hashes(ws, cache)
    values.update(hash_algo=HASH_ALGO, actor=current_actor())
    version_id, new = catalog.record_version(ws, name, values, tag_list, description)
    return values, version_id, new
