"""Dataset snapshots against what users would do instead, side by side in one run.

    .venv/bin/python benchmarks/datasets/bench_snapshot.py            # full run (minutes)
    .venv/bin/python benchmarks/datasets/bench_snapshot.py --quick    # small sizes, smoke test

Measured (each the median of --repeats runs, alternating the contenders):

1. `snapshot(df)` of a 1M-row x 20-column DataFrame (Parquet + profile) vs
   `df.to_parquet()` alone.                                   target: <= 2x
2. `snapshot(path)` of a ~300 MB CSV vs `dvc add` of the same file in a fresh
   `git init && dvc init` repo, and vs `cp`.                  target: >= 4x faster than DVC
   (large files are copied with O_DIRECT; the same snapshot through the page
   cache, JUPYTER_MLOPS_DIRECT_IO=0, is measured beside it)
3. re-snapshot of the unchanged file vs `dvc add` again.      target: < 50 ms

DVC is installed by this script into its own venv (benchmarks/.venvs/dvc,
`pip install dvc`), never into the project's. Data is generated into a temp
dir that is removed at the end. Results go to benchmarks/results/datasets.md
(a table plus the raw JSON) and benchmarks/results/datasets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
DVC_VENV = BENCHMARKS / ".venvs" / "dvc"
RESULTS = BENCHMARKS / "results"
#: keep the workbench's own env out of the measured workspaces
for _key in [k for k in os.environ if k.startswith("JUPYTER_MLOPS_") or k == "MLFLOW_TRACKING_URI"]:
    del os.environ[_key]
QUIET_ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}


# -- tools ---------------------------------------------------------------------------------------
def ensure_dvc() -> tuple[Path, str]:
    """DVC in its own venv (created on first use), and its version."""
    exe = DVC_VENV / "bin" / "dvc"
    if not exe.exists():
        print(f"installing DVC into {DVC_VENV} (once) …", flush=True)
        DVC_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "dvc"], check=True)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                             env=QUIET_ENV, check=True).stdout.strip()
    return exe, version


def run(cmd: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=QUIET_ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call, after flushing earlier writes so they cannot bill it."""
    os.sync()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def filesystem_of(path: Path) -> str:
    done = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


# -- data ----------------------------------------------------------------------------------------
def make_frame(rows: int, cols: int, seed: int = 7) -> pd.DataFrame:
    """Mixed columns like a feature table: floats, ints, low-cardinality strings."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    labels = np.array(["north", "south", "east", "west", "central", "unknown"])
    for i in range(cols):
        kind = i % 5
        if kind in (0, 1, 2):
            data[f"f{i}"] = rng.normal(100 * i, 10 + i, rows)
        elif kind == 3:
            data[f"i{i}"] = rng.integers(0, 10_000, rows)
        else:
            data[f"s{i}"] = labels[rng.integers(0, len(labels), rows)]
    return pd.DataFrame(data)


def write_csv(path: Path, target_mb: int) -> int:
    """A CSV of about `target_mb` MB, written in chunks; returns its size in bytes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    chunk = make_frame(200_000, 10, seed=11)
    sample = pa.Table.from_pandas(chunk, preserve_index=False)
    with pacsv.CSVWriter(path, sample.schema) as writer:
        seed = 11
        while path.stat().st_size < target_mb * 1_000_000:
            writer.write_table(pa.Table.from_pandas(make_frame(200_000, 10, seed=seed),
                                                    preserve_index=False))
            seed += 1
    return path.stat().st_size


# -- contenders ----------------------------------------------------------------------------------
def fresh_workspace(root: Path) -> Any:
    """A migrated workspace with one tiny snapshot done: set-up is not what is measured."""
    from jupyter_mlops.core.datasets import snapshot
    from jupyter_mlops.core.workspace import Workspace

    ws = Workspace.resolve(root)
    snapshot(pd.DataFrame({"warm": [1, 2]}), "warmup", workspace=ws)
    return ws


def bench_frame(tmp: Path, rows: int, cols: int, repeats: int) -> dict[str, Any]:
    from jupyter_mlops.core.datasets import snapshot

    df = make_frame(rows, cols)
    alone, snap = [], []
    for rep in range(repeats):
        target = tmp / f"alone-{rep}.parquet"
        ws = fresh_workspace(tmp / f"ws-df-{rep}")
        steps = [("alone", lambda: df.to_parquet(target, engine="pyarrow", compression="snappy")),
                 ("snapshot", lambda: snapshot(df, "bench-frame", workspace=ws))]
        for label, step in steps if rep % 2 == 0 else steps[::-1]:
            (alone if label == "alone" else snap).append(timed(step))
        parquet_bytes = target.stat().st_size
        target.unlink()
        ws.close()
        shutil.rmtree(tmp / f"ws-df-{rep}")
    return {"rows": rows, "cols": cols, "parquet_bytes": parquet_bytes,
            "parquet_alone_s": alone, "snapshot_s": snap}


def bench_file(tmp: Path, csv: Path, dvc: Path, repeats: int, resnaps: int) -> dict[str, Any]:
    from jupyter_mlops.core.datasets import snapshot
    from jupyter_mlops.core.datasets.copying import ENV_DIRECT_IO

    out: dict[str, list[float]] = {k: [] for k in (
        "cp_s", "md5sum_s", "dvc_add_s", "dvc_add_hardlink_s", "dvc_readd_s", "snapshot_s",
        "snapshot_buffered_s", "resnapshot_s")}
    for rep in range(repeats):
        repo, linked = tmp / f"dvc-{rep}", tmp / f"dvc-link-{rep}"
        for path, cache_type in ((repo, None), (linked, "hardlink")):
            path.mkdir()
            run(["git", "init", "-q"], cwd=path)
            run([str(dvc), "init", "-q"], cwd=path)
            if cache_type:
                run([str(dvc), "config", "cache.type", cache_type], cwd=path)
            shutil.copyfile(csv, path / csv.name)
        ws = fresh_workspace(tmp / f"ws-csv-{rep}")
        ws_buffered = fresh_workspace(tmp / f"ws-buf-{rep}")
        copy = tmp / f"copy-{rep}.csv"

        def buffered() -> None:
            """The same snapshot with the page-cache copy (what files under 32 MiB get)."""
            os.environ[ENV_DIRECT_IO] = "0"
            try:
                snapshot(csv, "bench-csv", workspace=ws_buffered)
            finally:
                del os.environ[ENV_DIRECT_IO]

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("cp_s", lambda: run(["cp", str(csv), str(copy)])),
            ("md5sum_s", lambda: run(["md5sum", str(csv)])),
            ("dvc_add_s", lambda: run([str(dvc), "add", "-q", csv.name], cwd=repo)),
            ("dvc_add_hardlink_s", lambda: run([str(dvc), "add", "-q", csv.name], cwd=linked)),
            ("snapshot_s", lambda: snapshot(csv, "bench-csv", workspace=ws)),
            ("snapshot_buffered_s", buffered),
        ]
        # the step after others' 300 MB writes pays for them (measured: ~0.2 s first,
        # ~0.75 s last, for cp and snapshot alike): rotate the order so that over
        # `repeats` = len(steps) runs each contender takes each position once
        shift = rep % len(steps)
        for label, step in steps[shift:] + steps[:shift]:
            out[label].append(timed(step))
        out["dvc_readd_s"].append(timed(lambda: run([str(dvc), "add", "-q", csv.name],
                                                    cwd=repo)))
        for _ in range(resnaps):
            version = None

            def again() -> None:
                nonlocal version
                version = snapshot(csv, "bench-csv", workspace=ws)

            out["resnapshot_s"].append(timed(again))
            assert version is not None and version.new is False
        ws.close()
        ws_buffered.close()
        for path in (repo, linked, copy, tmp / f"ws-csv-{rep}", tmp / f"ws-buf-{rep}"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return out


# -- report --------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values)


def summarize(frame: dict[str, Any], file: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison, with the ratio of medians and of the best runs.

    On a shared machine disk writeback from other processes lands on random
    steps; the best of N is the least disturbed run of each contender, so its
    ratio is reported next to the ratio of medians.
    """
    rows = [
        ("DataFrame {rows:,} x {cols}: snapshot vs to_parquet alone", frame["snapshot_s"],
         frame["parquet_alone_s"], "ours/theirs", "snapshot time / Parquet time", "<= 2.0"),
        ("CSV file: dvc add (default cache) vs snapshot", file["snapshot_s"], file["dvc_add_s"],
         "theirs/ours", "times faster than DVC", ">= 4.0"),
        ("CSV file: dvc add (cache.type=hardlink) vs snapshot", file["snapshot_s"],
         file["dvc_add_hardlink_s"], "theirs/ours", "times faster than DVC", "(info)"),
        ("CSV file: dvc add (default cache) vs snapshot through the page cache "
         "(JUPYTER_MLOPS_DIRECT_IO=0)", file["snapshot_buffered_s"], file["dvc_add_s"],
         "theirs/ours", "times faster than DVC", "(info)"),
        ("CSV file: cp vs snapshot", file["snapshot_s"], file["cp_s"], "ours/theirs",
         "snapshot time / cp time", "(info)"),
        ("CSV file: md5sum (what DVC must at least read) vs snapshot", file["snapshot_s"],
         file["md5sum_s"], "ours/theirs", "snapshot time / md5sum time", "(info)"),
        ("unchanged CSV: re-snapshot vs dvc add again", file["resnapshot_s"],
         file["dvc_readd_s"], "theirs/ours", "times faster than DVC", "re-snapshot < 0.050 s"),
    ]
    out = []
    for what, ours, theirs, direction, means, target in rows:
        stats = {"median": (median(ours), median(theirs)), "best": (min(ours), min(theirs))}
        ratios = {k: (b / a if direction == "theirs/ours" else a / b)
                  for k, (a, b) in stats.items()}
        out.append({"what": what.format(rows=frame["rows"], cols=frame["cols"]),
                    "ours_s": stats["median"][0], "theirs_s": stats["median"][1],
                    "ours_best_s": stats["best"][0], "theirs_best_s": stats["best"][1],
                    "ratio": ratios["median"], "ratio_best": ratios["best"],
                    "ratio_means": means, "target": target})
    checks = {0: lambda r: r <= 2.0, 1: lambda r: r >= 4.0}
    for index, check in checks.items():
        out[index]["met"] = check(out[index]["ratio"])
        out[index]["met_best"] = check(out[index]["ratio_best"])
    out[-1]["met"] = out[-1]["ours_s"] < 0.050
    out[-1]["met_best"] = out[-1]["ours_best_s"] < 0.050
    return out


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        "# Dataset snapshot benchmark",
        "",
        f"Run {result['finished']} with `{result['command']}` "
        f"({result['duration_s']:.0f} s in all).",
        "",
        f"Machine: {env['cpus']} CPUs, {env['platform']}, filesystem `{env['filesystem']}` "
        f"(reflink: {env['reflink']}); Python {env['python']}, pandas {env['pandas']}, "
        f"pyarrow {env['pyarrow']}, {env['dvc']}. Medians of {result['params']['repeats']} "
        f"runs ({result['params']['resnapshots']} re-snapshots per run); CSV "
        f"{result['params']['csv_bytes'] / 1e6:.0f} MB, page cache warm for every contender. "
        f"Load average at start / end: {env['load_start']} / {env['load_end']} "
        "(other work on the machine shows up as spread between median and best).",
        "",
        "| measurement | jupyter-mlops median (best) s | other median (best) s "
        "| ratio of medians | ratio of bests | ratio means | target | met (medians / bests) |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]

    def verdict(flag: bool | None) -> str:
        return "—" if flag is None else ("yes" if flag else "**no**")

    for row in result["summary"]:
        met = f"{verdict(row.get('met'))} / {verdict(row.get('met_best'))}"
        lines.append(f"| {row['what']} | {row['ours_s']:.3f} ({row['ours_best_s']:.3f}) | "
                     f"{row['theirs_s']:.3f} ({row['theirs_best_s']:.3f}) | {row['ratio']:.2f} | "
                     f"{row['ratio_best']:.2f} | {row['ratio_means']} | {row['target']} | {met} |")
    lines += ["", "Raw timings (seconds):", "", "```json",
              json.dumps({k: result[k] for k in ("frame", "file")}, indent=2), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--csv-mb", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=6,
                        help="runs; a multiple of 6 puts each contender in each position")
    parser.add_argument("--resnapshots", type=int, default=5)
    parser.add_argument("--tmp", type=Path, default=None, help="where to put the data")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.csv_mb, args.repeats, args.resnapshots = 20_000, 5, 1, 2
    started = time.perf_counter()
    load_start = _load()
    dvc, dvc_version = ensure_dvc()
    tmp = Path(tempfile.mkdtemp(prefix="mlops-bench-datasets-", dir=args.tmp))
    try:
        from jupyter_mlops.core.datasets.objects import try_reflink

        csv = tmp / "data" / "big.csv"
        csv.parent.mkdir()
        print(f"generating a {args.csv_mb} MB CSV in {tmp} …", flush=True)
        csv_bytes = write_csv(csv, args.csv_mb)
        probe = tmp / "reflink-probe"
        with open(probe, "wb") as handle:
            reflink = try_reflink(csv, handle)
        probe.unlink()
        print("DataFrame snapshot vs to_parquet …", flush=True)
        frame = bench_frame(tmp, args.rows, args.cols, args.repeats)
        print("CSV snapshot vs dvc add vs cp …", flush=True)
        file = bench_file(tmp, csv, dvc, args.repeats, args.resnapshots)
        import pyarrow

        result: dict[str, Any] = {
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "duration_s": time.perf_counter() - started,
            "environment": {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(), "pandas": pd.__version__,
                            "pyarrow": pyarrow.__version__, "dvc": f"DVC {dvc_version}",
                            "filesystem": filesystem_of(tmp), "reflink": reflink,
                            "load_start": load_start, "load_end": _load()},
            "params": {"rows": args.rows, "cols": args.cols, "csv_bytes": csv_bytes,
                       "repeats": args.repeats, "resnapshots": args.resnapshots},
            "frame": frame, "file": file,
        }
        result["summary"] = summarize(frame, file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = markdown(result)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "datasets.md").write_text(text)
        (RESULTS / "datasets.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {RESULTS / 'datasets.md'} and datasets.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
