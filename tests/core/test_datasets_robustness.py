"""Concurrent snapshots, interrupted writes, full disks and garbage collection."""

from __future__ import annotations

import errno
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.errors import NotFound
from jupyter_mlops.core.workspace import Workspace


def frame(seed: int, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 9, n)})


def store_files(ws: Workspace) -> list[str]:
    if not ws.objects_dir.exists():
        return []
    return sorted(p.relative_to(ws.objects_dir).as_posix()
                  for p in ws.objects_dir.rglob("*") if p.is_file())


# -- concurrency -----------------------------------------------------------------------------
def _snapshot_worker(root: str, seed: int, barrier, rounds: int) -> None:
    workspace = Workspace.resolve(root)
    barrier.wait(timeout=60)
    for i in range(rounds):
        D.snapshot(frame(seed * 100 + i), "shared", tags=[f"p{seed}"], workspace=workspace)
        # the same frame built in two processes: one version (Parquet bytes are deterministic)
        D.snapshot(frame(999), "common", workspace=workspace)
    workspace.close()


def test_two_processes_snapshot_one_name(ws):
    ws.engine  # migrate first, so the race is about snapshots, not schema creation
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    rounds = 4
    procs = [ctx.Process(target=_snapshot_worker, args=(str(ws.root), seed, barrier, rounds))
             for seed in (1, 2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    versions = D.list_versions("shared", workspace=ws)
    assert len(versions) == 2 * rounds
    expected = {seed * 100 + i for seed in (1, 2) for i in range(rounds)}
    loaded = [D.load_dataset("shared", v.version, workspace=ws) for v in versions]
    seen = {s for s in expected for df in loaded if df.equals(frame(s))}
    assert seen == expected
    assert all(D.verify("shared", v.version, workspace=ws)["ok"] for v in versions)
    assert not [f for f in store_files(ws) if f.startswith(objects.TMP_PREFIX)]
    assert {t for v in versions for t in v.tags} == {"p1", "p2"}
    assert len(D.list_versions("common", workspace=ws)) == 1


def test_threads_snapshot_same_content(ws):
    from concurrent.futures import ThreadPoolExecutor

    df = frame(7)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: D.snapshot(df, "same", workspace=ws), range(4)))
    assert len({r.version for r in results}) == 1
    assert sum(bool(r.new) for r in results) == 1
    assert len(D.list_versions("same", workspace=ws)) == 1


# -- interrupted writes ----------------------------------------------------------------------
def test_interrupted_table_write_leaves_nothing(ws, monkeypatch):
    import pyarrow.parquet as pq

    def half_then_die(table, where, **_kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt  # the user pressed stop mid-write

    monkeypatch.setattr(pq, "write_table", half_then_die)
    with pytest.raises(KeyboardInterrupt):
        D.snapshot(frame(1), "broken", workspace=ws)
    assert store_files(ws) == []
    with pytest.raises(NotFound):
        D.list_versions("broken", workspace=ws)


def test_full_disk_during_file_copy_leaves_nothing(ws, monkeypatch):
    src = ws.root / "big.bin"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(os.urandom(1 << 16))

    def disk_full(src, dst):
        dst.write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(objects, "copy_hashing", disk_full)
    with pytest.raises(OSError, match="No space left"):
        D.snapshot(src, "big", workspace=ws)
    assert store_files(ws) == []
    with pytest.raises(NotFound):
        D.get_version("big", workspace=ws)
    monkeypatch.undo()
    assert D.snapshot(src, "big", workspace=ws).bytes == 1 << 16


def test_failing_database_after_write_keeps_store_consistent(ws, monkeypatch):
    from jupyter_mlops.core.datasets import catalog

    def db_down(*_a, **_k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(catalog, "record_version", db_down)
    with pytest.raises(RuntimeError):
        D.snapshot(frame(3), "orphan", workspace=ws)
    monkeypatch.undo()
    orphans = D.gc(dry_run=True, grace_seconds=0, workspace=ws)
    assert len(orphans.objects) == 1  # a complete but unreferenced object: gc's job
    assert D.gc(dry_run=False, grace_seconds=0, workspace=ws).objects
    assert store_files(ws) == []


# -- gc --------------------------------------------------------------------------------------
def test_gc_dry_run_then_collect(ws):
    keep = D.snapshot(frame(1), "g", workspace=ws)
    drop = D.snapshot(frame(2), "g", workspace=ws)
    folder = ws.root / "f"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"shared")
    D.snapshot(folder, "folder", workspace=ws)
    D.delete_version("g", drop.version, workspace=ws)
    D.load_dataset("g", keep.version, as_path=True, workspace=ws)
    D.load_dataset("folder", workspace=ws)
    stale = ws.objects_dir / f"{objects.TMP_PREFIX}999-dead"
    stale.write_bytes(b"partial")
    past = time.time() - 7200
    os.utime(stale, (past, past))

    assert D.gc(workspace=ws).objects == []  # inside the grace period
    dry = D.gc(dry_run=True, grace_seconds=0, workspace=ws)
    assert [o["key"] for o in dry.objects] == [drop.version]
    assert [t["name"] for t in dry.temps] == [stale.name] and Path(drop.path).exists()
    done = D.gc(dry_run=False, grace_seconds=0, workspace=ws)
    assert done.summary().startswith("gc removed 1 object(s) and 1 temp file(s)")
    assert not Path(drop.path).exists() and not stale.exists()
    pd.testing.assert_frame_equal(D.load_dataset("g", workspace=ws), frame(1))
    out = Path(D.load_dataset("folder", workspace=ws))
    assert (out / "a.txt").read_bytes() == b"shared"  # manifest members survive
    assert D.gc(dry_run=False, grace_seconds=0, workspace=ws).objects == []
    with pytest.raises(NotFound, match="no version"):
        D.get_version("g", drop.version, workspace=ws)
