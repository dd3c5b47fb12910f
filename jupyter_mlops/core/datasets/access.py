"""Reading versions back: lookups, loads, checkouts, on-demand profiles, audits.

Loads never hand out the object file itself. A path the user gets is a
private checkout under `.mlops/checkouts/<version>/` (named like the original
file, so extension-sniffing readers work), because an edit through that path
must never change bytes that a version hash promises are immutable.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..workspace import Workspace
from . import catalog
from .objects import ObjectStore, store_for
from .profile import profile_frame
from .runtime import notify, resolve_workspace
from .types import DatasetSummary, DatasetVersion, validate_name


def get_version(name: str, version: str | None = "latest",
                workspace: Workspace | None = None) -> DatasetVersion:
    """One version's metadata and profile, addressed by `latest`, a tag or a hash prefix."""
    validate_name(name)
    ws = resolve_workspace(workspace)
    return catalog.resolve(ws, name, version, store_for(ws).location)


def list_versions(name: str, workspace: Workspace | None = None) -> list[DatasetVersion]:
    """Newest first (by last snapshot); profiles load lazily on attribute access."""
    validate_name(name)
    ws = resolve_workspace(workspace)
    return catalog.list_versions(ws, name, store_for(ws).location)


def list_datasets(workspace: Workspace | None = None) -> list[DatasetSummary]:
    return catalog.list_datasets(resolve_workspace(workspace))


def read_manifest(store: ObjectStore, key: str) -> dict[str, Any]:
    return json.loads(store.read_bytes(key))


def _checkout(store: ObjectStore, key: str, dest: Path) -> Path:
    """A private copy for the user, so edits to it can never reach the object."""
    src = store.local_path(key)
    st = src.stat()
    if dest.is_file():
        cur = dest.stat()
        if cur.st_size == st.st_size and cur.st_mtime_ns == st.st_mtime_ns:
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copyfile(src, tmp)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def materialize(version: DatasetVersion, workspace: Workspace | None = None) -> Path:
    """A local path holding the version's data (a checkout under `.mlops/checkouts/`)."""
    ws = resolve_workspace(workspace)
    store = store_for(ws)
    base = ws.mlops_dir / "checkouts" / version.version
    if version.kind == "table":
        return _checkout(store, version.version, base / f"{version.name}.parquet")
    if version.kind == "file":
        filename = Path(version.source or version.name).name
        return _checkout(store, version.version, base / filename)
    root = base / version.name
    for entry in read_manifest(store, version.version)["files"]:
        rel = Path(entry["path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise InvalidInput(f"Manifest of {version.name}@{version.short} has a bad path.")
        _checkout(store, entry["hash"], root / rel)
    return root


def load_dataset(name: str, version: str | None = "latest", workspace: Workspace | None = None,
                 *, as_path: bool = False) -> Any:
    """A table version as a DataFrame; a file or folder version (or `as_path`) as a path."""
    ws = resolve_workspace(workspace)
    found = get_version(name, version, ws)
    store = store_for(ws)
    if not store.exists(found.version):
        raise NotFound(f"The object of {name}@{found.short} is missing from {store.url}; "
                       "it may have been removed by hand. Snapshot the data again.")
    if found.kind == "table" and not as_path:
        result: Any = pd.read_parquet(store.local_path(found.version))
    else:
        result = materialize(found, ws)
    notify(found, "load")
    return result


def profile_version(name: str, version: str | None = "latest",
                    workspace: Workspace | None = None) -> dict[str, Any]:
    """Compute and store the profile of a tabular file version (once; then it is read back)."""
    ws = resolve_workspace(workspace)
    found = get_version(name, version, ws)
    if found.profile is not None:
        return found.profile
    if found.kind == "folder":
        raise InvalidInput(f"{name}@{found.short} is a folder; only tables and tabular "
                           "files (CSV, Parquet, JSON) have a profile.")
    frame = read_table_file(store_for(ws).local_path(found.version),
                            Path(found.source or "").suffix.lower())
    prof = profile_frame(frame)
    catalog.set_profile(ws, found.id or 0, prof)
    return prof


#: suffixes of files read as tables (and so profiled like them)
TABULAR_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonl", ".ndjson")


def read_table_file(path: Path, suffix: str) -> pd.DataFrame:
    """Read a tabular file by its original suffix (objects have no extension)."""
    try:
        if suffix in (".parquet", ".pq") or suffix == "":
            return pd.read_parquet(path)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix == ".json":
            return pd.read_json(path)
        return pd.read_csv(path)
    except Exception as exc:
        raise InvalidInput(f"Cannot read the data as a table ({suffix or 'no suffix'}): "
                           f"{exc}") from exc


def delete_version(name: str, version: str, workspace: Workspace | None = None) -> str:
    """Forget one version; its object is reclaimed by `gc` when nothing else uses it."""
    validate_name(name)
    ws = resolve_workspace(workspace)
    removed = catalog.delete_version(ws, name, version)
    record_event(ws, "datasets.delete", f"Deleted {name}@{removed[:12]}", subject=name,
                 data={"version": removed})
    return removed


def verify(name: str, version: str | None = "latest", workspace: Workspace | None = None,
           *, audit: bool = False) -> dict[str, Any]:
    """Re-hash the stored object; with `audit`, also record its SHA-256."""
    ws = resolve_workspace(workspace)
    found = get_version(name, version, ws)
    store = store_for(ws)
    if not store.exists(found.version):
        return {"version": found.version, "ok": False, "detail": "object missing"}
    actual = store.rehash(found.version)
    report: dict[str, Any] = {"version": found.version, "ok": actual == found.version,
                              "detail": "intact" if actual == found.version
                              else f"content hashes to {actual}"}
    if audit and report["ok"]:
        digest = store.sha256(found.version)
        catalog.set_sha256(ws, found.version, digest)
        report["sha256"] = digest
    return report
