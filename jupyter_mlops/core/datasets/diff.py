"""What changed between two versions, answered from stored metadata alone.

Schemas, row counts and profiles are kept with every version, so a diff never
reads the data: it is as cheap for 10 GB as for 10 KB, which is what lets the
panel show it on a click. The one exception is a tabular file snapshotted
without a profile (`snapshot(path)` skips it for speed): its profile is made
once, on its first diff, and stored. Folder versions are compared file by file
through their manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..workspace import Workspace
from .access import (
    TABULAR_SUFFIXES,
    get_version,
    list_versions,
    profile_version,
    read_manifest,
)
from .objects import store_for
from .runtime import resolve_workspace
from .types import DatasetVersion, validate_name

NUMERIC_STATS = ("min", "max", "mean", "std")


def _delta(a: Any, b: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"a": a, "b": b}
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        out["delta"] = b - a
    return out


@dataclass
class DatasetDiff:
    name: str
    a: str
    b: str
    kind_a: str
    kind_b: str
    identical: bool
    rows: dict[str, Any]
    bytes: dict[str, Any]
    added_columns: list[dict[str, str]] = field(default_factory=list)
    removed_columns: list[dict[str, str]] = field(default_factory=list)
    retyped_columns: list[dict[str, str]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    added_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    profiles_compared: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def summary(self) -> str:
        """One line for the magics and the CLI."""
        if self.identical:
            return f"{self.name}: {self.a[:12]} and {self.b[:12]} are identical"
        bits = []
        if self.rows.get("delta"):
            bits.append(f"rows {self.rows['delta']:+,}")
        for label, items in (("added", self.added_columns), ("removed", self.removed_columns),
                             ("retyped", self.retyped_columns)):
            if items:
                bits.append(f"{label} columns: {', '.join(c['name'] for c in items)}")
        for label, files in (("added", self.added_files), ("removed", self.removed_files),
                             ("changed", self.changed_files)):
            if files:
                bits.append(f"{len(files)} files {label}")
        changed = [c["name"] for c in self.columns if c.get("changed")]
        if changed:
            bits.append(f"changed columns: {', '.join(changed[:10])}")
        return (f"{self.name} {self.a[:12]} → {self.b[:12]}: "
                + ("; ".join(bits) or "content differs"))


def _schema(version: DatasetVersion) -> dict[str, str]:
    """Column → dtype; a CSV file version has no stored schema, but its profile knows."""
    columns = version.schema or (version.profile or {}).get("columns") or []
    return {c["name"]: c["dtype"] for c in columns}


def _categories(col: dict[str, Any]) -> dict[Any, int]:
    cats = col.get("categories") or {}
    return dict(zip(cats.get("values", []), cats.get("counts", [])))


def _column_delta(ca: dict[str, Any], cb: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": ca["name"], "kind": {"a": ca.get("kind"), "b": cb.get("kind")}}
    for key in ("null_share", "distinct", *NUMERIC_STATS):
        if ca.get(key) is not None or cb.get(key) is not None:
            out[key] = _delta(ca.get(key), cb.get(key))
    changed = any(v.get("a") != v.get("b") for k, v in out.items() if isinstance(v, dict))
    std_a, mean_a, mean_b = ca.get("std"), ca.get("mean"), cb.get("mean")
    if std_a and mean_a is not None and mean_b is not None:
        # the mean's move in reference standard deviations: comparable across columns
        out["mean_shift_std"] = (mean_b - mean_a) / std_a
    counts_a, counts_b = _categories(ca), _categories(cb)
    if counts_a or counts_b:
        total_a, total_b = sum(counts_a.values()) or 1, sum(counts_b.values()) or 1
        labels = set(counts_a) | set(counts_b)
        # total variation distance of the category shares, in [0, 1]
        out["category_tvd"] = 0.5 * sum(abs(counts_a.get(x, 0) / total_a
                                            - counts_b.get(x, 0) / total_b) for x in labels)
        out["new_categories"] = sorted((x for x in counts_b if x not in counts_a), key=str)[:20]
        out["missing_categories"] = sorted((x for x in counts_a if x not in counts_b),
                                           key=str)[:20]
        changed = changed or out["category_tvd"] > 0
    out["changed"] = changed
    return out


def _folder_changes(result: DatasetDiff, va: DatasetVersion, vb: DatasetVersion,
                    workspace: Workspace) -> None:
    store = store_for(workspace)
    files_a = {e["path"]: e["hash"] for e in read_manifest(store, va.version)["files"]}
    files_b = {e["path"]: e["hash"] for e in read_manifest(store, vb.version)["files"]}
    result.added_files = sorted(set(files_b) - set(files_a))
    result.removed_files = sorted(set(files_a) - set(files_b))
    result.changed_files = sorted(p for p in set(files_a) & set(files_b)
                                  if files_a[p] != files_b[p])


def _profiled(version: DatasetVersion, ws: Workspace) -> DatasetVersion:
    """A tabular file version with its profile (made now if it has none), so that its
    columns can be compared; one that cannot be read as a table stays as it is."""
    if version.kind != "file" or version.profile is not None:
        return version
    from pathlib import Path

    if Path(version.source or "").suffix.lower() not in TABULAR_SUFFIXES:
        return version
    try:
        profile_version(version.name, version.version, ws)
    except InvalidInput:
        return version
    return get_version(version.name, version.version, ws)  # rows and schema come with it


def diff(name: str, a: str | None = None, b: str | None = "latest",
         workspace: Workspace | None = None) -> DatasetDiff:
    """Compare version `a` to `b`; `a=None` means the version snapshotted before `b`."""
    validate_name(name)
    ws = resolve_workspace(workspace)
    vb = get_version(name, b, ws)
    if a is None:
        older = [v for v in list_versions(name, ws) if v.version != vb.version
                 and (v.snapshotted or v.created) <= (vb.snapshotted or vb.created)]
        if not older:
            raise InvalidInput(f"Dataset {name!r} has no version before {vb.short} to compare "
                               "with; pass two versions.")
        a = older[0].version
    va = _profiled(get_version(name, a, ws), ws)
    vb = _profiled(vb, ws)
    result = DatasetDiff(name=name, a=va.version, b=vb.version, kind_a=va.kind, kind_b=vb.kind,
                         identical=va.version == vb.version, rows=_delta(va.rows, vb.rows),
                         bytes=_delta(va.bytes, vb.bytes))
    schema_a, schema_b = _schema(va), _schema(vb)
    result.added_columns = [{"name": n, "dtype": t} for n, t in schema_b.items()
                            if n not in schema_a]
    result.removed_columns = [{"name": n, "dtype": t} for n, t in schema_a.items()
                              if n not in schema_b]
    result.retyped_columns = [{"name": n, "from": schema_a[n], "to": t}
                              for n, t in schema_b.items() if n in schema_a and schema_a[n] != t]
    prof_a, prof_b = va.profile, vb.profile
    if prof_a and prof_b:
        cols_a = {c["name"]: c for c in prof_a["columns"]}
        result.columns = [_column_delta(cols_a[c["name"]], c) for c in prof_b["columns"]
                          if c["name"] in cols_a]
        result.profiles_compared = True
    if va.kind == vb.kind == "folder" and not result.identical:
        _folder_changes(result, va, vb, ws)
    return result
