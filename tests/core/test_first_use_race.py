"""Processes opening one brand-new workspace at the same moment — a server, its kernels,
a test's helper process — must all get working stores: both the state DB and the MLflow
SQLite store migrate exactly once. Real processes, started together behind a barrier."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


def _open(root: str, barrier, results) -> None:
    from jupyter_mlops.core.workspace import Workspace

    barrier.wait()
    try:
        ws = Workspace.resolve(root)
        ws.engine  # noqa: B018 - the state DB, migrated on first use
        experiments = ws.mlflow.client.search_experiments()
        results.put(("ok", len(experiments)))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_four_processes_open_a_new_workspace_at_once(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=_open, args=(str(root), barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
    assert [o for o in outcomes if o[0] != "ok"] == []
    assert all(n >= 1 for _, n in outcomes)  # the Default experiment, created once
