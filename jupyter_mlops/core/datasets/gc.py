"""Reclaim objects that no version references.

Safe to run while other processes snapshot: a snapshot writes (or touches,
when deduplicating) its object *before* it inserts the version row, so any
object younger than the grace period may be about to become referenced and
is kept. Temp files of writes that died (a killed kernel) are removed once
they are old enough that no live write can own them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from ..events import record_event
from ..workspace import Workspace
from . import catalog
from .objects import gc_lock, store_for
from .access import read_manifest
from .runtime import resolve_workspace

#: objects younger than this are never collected (an in-flight snapshot may need them)
GRACE_SECONDS = 600.0
#: temp files older than this belong to writes that can no longer be running
TEMP_GRACE_SECONDS = 3600.0


@dataclass
class GcReport:
    dry_run: bool
    objects: list[dict[str, Any]] = field(default_factory=list)
    temps: list[dict[str, Any]] = field(default_factory=list)
    checkouts: list[str] = field(default_factory=list)
    kept_recent: int = 0
    referenced: int = 0

    @property
    def bytes(self) -> int:
        return sum(o["size"] for o in self.objects) + sum(t["size"] for t in self.temps)

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "objects": self.objects, "temps": self.temps,
                "checkouts": self.checkouts, "kept_recent": self.kept_recent,
                "referenced": self.referenced, "bytes": self.bytes}

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"gc {verb} {len(self.objects)} object(s) and {len(self.temps)} temp file(s), "
                f"{self.bytes:,} bytes; {self.referenced} referenced, "
                f"{self.kept_recent} too recent to judge")


def referenced_keys(workspace: Workspace) -> set[str]:
    """Every object a version needs: its own, plus a folder manifest's files."""
    store = store_for(workspace)
    keys: set[str] = set()
    for key, kind in catalog.referenced_objects(workspace):
        keys.add(key)
        if kind == "folder":
            try:
                keys.update(e["hash"] for e in read_manifest(store, key)["files"])
            except (OSError, ValueError, KeyError):
                continue  # a lost manifest cannot protect anything
    return keys


def gc(dry_run: bool = True, workspace: Workspace | None = None, *,
       grace_seconds: float = GRACE_SECONDS) -> GcReport:
    """List (dry run, the default) or remove unreferenced objects, stale temps, old checkouts."""
    ws = resolve_workspace(workspace)
    store = store_for(ws)
    keep = referenced_keys(ws)
    report = GcReport(dry_run=dry_run, referenced=len(keep))
    cutoff = time.time() - grace_seconds
    for obj in store.iter_objects():
        if obj.key in keep:
            continue
        if obj.mtime > cutoff:
            report.kept_recent += 1
            continue
        report.objects.append({"key": obj.key, "size": obj.size})
    for tmp in store.stale_temps(max(grace_seconds, TEMP_GRACE_SECONDS)):
        report.temps.append({"name": tmp.key, "size": tmp.size})
    checkouts = ws.mlops_dir / "checkouts"
    if checkouts.is_dir():
        report.checkouts = sorted(p.name for p in checkouts.iterdir() if p.name not in keep)
    if dry_run:
        return report
    with gc_lock(ws, exclusive=True):
        # no snapshot is between object write and row commit now: judge again, then delete
        keep = referenced_keys(ws)
        fresh = {o.key: o.mtime for o in store.iter_objects()}
        report.objects = [o for o in report.objects
                          if o["key"] not in keep and fresh.get(o["key"], 0) <= cutoff]
        for obj in report.objects:
            store.remove(obj["key"])
    for tmp in report.temps:
        store.remove_temp(tmp["name"])
    for name in report.checkouts:
        shutil.rmtree(checkouts / name, ignore_errors=True)
    if report.objects or report.temps:
        record_event(ws, "datasets.gc", report.summary(),
                     data={"objects": len(report.objects), "bytes": report.bytes})
    return report
