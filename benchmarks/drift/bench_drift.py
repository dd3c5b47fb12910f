"""Drift benchmark: jupyter_mlops.drift() next to Evidently, NannyML, plain scipy and the floor.
A measurement, not a test: run it, read the ratios.

    .venv/bin/python benchmarks/drift/bench_drift.py                 # full run (~10 minutes)
    .venv/bin/python benchmarks/drift/bench_drift.py --rows 100000 --scaling 100000 --no-peers

Data: `jupyter_mlops.core.drift.benchmark.make_frames` — per side N rows x 20 columns:
15 numeric N(0, 1) (every third shifted by 0.3 in current) and 5 categorical with 20
levels (the first one re-weighted in current). Both sides are written once as Parquet and
every contender reads the same files in its own subprocess, so imports and data loading
are outside the timings and peaks are per process:

* ours: `drift(reference, current)` with its defaults (normed Wasserstein for numbers, JS
  for categories above 1,000 rows; columns on both cores); and pinned to one core
  (`sched_setaffinity`), to show what the second core buys;
* floor: what no drift check can avoid — sort each numeric column and factorize each
  categorical one, both sides, one core;
* scipy: column by column, `ks_2samp` + `wasserstein_distance` for numbers,
  `chi2_contingency` + `jensenshannon` on the value counts for categories;
* Evidently (0.7.x, in benchmarks/.venvs/evidently with pandas<3, which it needs):
  `Report([DataDriftPreset()]).run(current, reference)` with an explicit DataDefinition
  (numerical/categorical columns named, so no type inference is timed);
* NannyML (benchmarks/.venvs/nannyml, with statsmodels which it imports without
  declaring): `UnivariateDriftCalculator` fit on reference + calculate on current, with
  our statistics (wasserstein / jensen_shannon) as one chunk, and with its defaults.

Peak memory is `resource.getrusage(RUSAGE_SELF).ru_maxrss` of each subprocess (it
includes the interpreter, the imports and both frames), next to the RSS after loading
and the frames' in-memory size (`memory_usage(deep=True)`).

Scaling (ours only): 100k, 1M and 10M rows per side, generated in the worker.

Results: benchmarks/results/drift.json and drift.md (overwritten) and stdout. Peer venvs
are created on first use (pip, a few minutes); `--no-peers` skips them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
VENVS = BENCHMARKS / ".venvs"
RESULTS_MD = BENCHMARKS / "results" / "drift.md"
RESULTS_JSON = BENCHMARKS / "results" / "drift.json"
PEERS = {
    "evidently": ["evidently>=0.7,<0.8", "pandas<3", "pyarrow"],
    "nannyml": ["nannyml", "statsmodels", "pyarrow"],
}
TARGETS = {"evidently": 80.0, "nannyml_ours": 12.0, "floor": 1.5}


# ====================================================================== workers
# Each runs in a fresh subprocess (possibly another venv's python): stdlib imports only at
# module level, everything else inside the function.


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0), so the next peak is the work's."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    import pandas as pd

    if args.ref:
        return pd.read_parquet(args.ref), pd.read_parquet(args.cur)
    from jupyter_mlops.core.drift.benchmark import make_frames

    return make_frames(args.rows)


def _timed(fn: Any, repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _numeric_and_categorical(frame: Any) -> tuple[list[str], list[str]]:
    import pandas as pd

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    return numeric, [c for c in frame.columns if c not in numeric]


def work_ours(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    import jupyter_mlops
    from jupyter_mlops.core.drift import drift

    times, report = _timed(lambda: drift(ref, cur, log_to_run=False), repeat)
    return times, [c.name for c in report.columns if c.drifted], jupyter_mlops.__version__


def work_ours_unequal(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    """Current one row shorter: no equal-size shortcut in the Wasserstein distance."""
    return work_ours(ref, cur.iloc[:-1], repeat)


def work_ours_1core(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    return work_ours(ref, cur, repeat)


def work_floor(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    import numpy as np
    import pandas as pd

    numeric, categorical = _numeric_and_categorical(ref)

    def floor() -> None:
        for frame in (ref, cur):
            for c in numeric:
                np.sort(frame[c].to_numpy())
            for c in categorical:
                pd.factorize(frame[c])

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    times, _ = _timed(floor, repeat)
    return times, [], np.__version__


def work_scipy(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    import numpy as np
    import pandas as pd
    import scipy
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

    numeric, categorical = _numeric_and_categorical(ref)

    def check() -> list[str]:
        drifted = []
        for c in numeric:
            a, b = ref[c].to_numpy(), cur[c].to_numpy()
            ks_2samp(a, b)
            if wasserstein_distance(a, b) / np.std(a) >= 0.1:
                drifted.append(c)
        for c in categorical:
            counts = pd.concat([ref[c].value_counts(), cur[c].value_counts()], axis=1).fillna(0)
            chi2_contingency(counts.to_numpy().T)
            p, q = counts.iloc[:, 0].to_numpy(), counts.iloc[:, 1].to_numpy()
            if jensenshannon(p / p.sum(), q / q.sum()) >= 0.1:
                drifted.append(c)
        return drifted

    times, drifted = _timed(check, repeat)
    return times, drifted, scipy.__version__


def work_evidently(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric, categorical = _numeric_and_categorical(ref)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def check() -> Any:
        reference = Dataset.from_pandas(ref, data_definition=definition)
        current = Dataset.from_pandas(cur, data_definition=definition)
        return Report([DataDriftPreset()]).run(current, reference)

    times, result = _timed(check, repeat)
    drifted: list[str] = []
    try:  # per-column ValueDrift results: p-values drift below, distances at/above threshold
        for metric in result.dict()["metrics"]:
            config = metric.get("config") or {}
            if not str(config.get("type", "")).endswith("ValueDrift"):
                continue
            value, threshold = float(metric["value"]), float(config.get("threshold", 0.1))
            p_value = "p_value" in str(config.get("method", "")).lower()
            if (value < threshold) if p_value else (value >= threshold):
                drifted.append(str(config["column"]))
    except Exception as exc:  # noqa: BLE001 - the timing stands without the verdicts
        drifted = [f"(verdicts unavailable: {exc!r})"]
    return times, drifted, evidently.__version__


def _nannyml(ref: Any, cur: Any, repeat: int, ours: bool) -> tuple[list[float], list[str], str]:
    import logging

    import nannyml as nml

    logging.getLogger("nannyml").setLevel(logging.ERROR)
    numeric, categorical = _numeric_and_categorical(ref)
    options: dict[str, Any] = dict(column_names=list(ref.columns),
                                   treat_as_categorical=categorical)
    if ours:
        options.update(continuous_methods=["wasserstein"],
                       categorical_methods=["jensen_shannon"], chunk_number=1)

    def check() -> Any:
        calculator = nml.UnivariateDriftCalculator(**options)
        calculator.fit(ref)
        return calculator.calculate(cur)

    times, results = _timed(check, repeat)
    drifted = []
    try:
        frame = results.filter(period="analysis").to_df()
        for column in ref.columns:
            alerts = frame[column].xs("alert", axis=1, level=-1).to_numpy()
            if alerts.any():
                drifted.append(column)
    except Exception as exc:  # noqa: BLE001
        drifted = [f"(verdicts unavailable: {exc!r})"]
    return times, drifted, nml.__version__


def work_nannyml_ours(ref: Any, cur: Any, repeat: int) -> tuple[list[float], list[str], str]:
    return _nannyml(ref, cur, repeat, ours=True)


def work_nannyml_defaults(ref: Any, cur: Any, repeat: int
                          ) -> tuple[list[float], list[str], str]:
    return _nannyml(ref, cur, repeat, ours=False)


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("--ref")
    parser.add_argument("--cur")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    ref, cur = _load(args)
    frames_mb = (ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum()) / 2**20
    import gc

    gc.collect()
    loaded_mb = _rss_mb()
    load_peak_mb = _status_mb("VmHWM")
    reset = _reset_peak()
    times, drifted, version = globals()[f"work_{args.task}"](ref, cur, args.repeat)
    print(json.dumps({"task": args.task, "rows": len(ref), "columns": ref.shape[1],
                      "seconds": times, "best": min(times), "version": version,
                      "drifted": drifted, "frames_mb": frames_mb, "rss_after_load_mb": loaded_mb,
                      "maxrss_mb": _maxrss_mb(), "load_peak_mb": load_peak_mb,
                      "peak_reset_after_load": reset}))


def write_task(argv: list[str]) -> None:
    """Write both sides as Parquet in a subprocess, so the orchestrator never holds the
    frames: a child's ru_maxrss starts from its parent's RSS at fork time."""
    rows, folder = int(argv[0]), Path(argv[1])
    from jupyter_mlops.core.drift.benchmark import make_frames

    ref, cur = make_frames(rows)
    ref.to_parquet(folder / "reference.parquet", index=False)
    cur.to_parquet(folder / "current.parquet", index=False)


# ================================================================= orchestrator


def peer_python(peer: str) -> Path:
    """The peer's venv python, created and filled with pip on first use."""
    venv = VENVS / peer
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"[setup] creating {venv} with {' '.join(PEERS[peer])} ...", flush=True)
        if venv.exists():
            shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                       check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[peer]], check=True)
        marker.write_text(" ".join(PEERS[peer]))
    return python


def run_worker(python: Path | str, task: str, *, data: tuple[Path, Path] | None = None,
               rows: int = 0, repeat: int = 1, timeout: float = 3600) -> dict[str, Any]:
    cmd = [str(python), str(Path(__file__).resolve()), "worker", task, "--repeat", str(repeat)]
    if data is not None:
        cmd += ["--ref", str(data[0]), "--cur", str(data[1])]
    else:
        cmd += ["--rows", str(rows)]
    print(f"[run] {task} rows={rows or 'parquet'} repeat={repeat}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {"task": task, "error": done.stderr.strip().splitlines()[-1:] or ["failed"],
                "wall": time.perf_counter() - started}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    print(f"      best {result['best']:.3f} s, peak {result['maxrss_mb']:.0f} MB", flush=True)
    return result


def write_data(rows: int, folder: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "write", str(rows),
                    str(folder)], check=True)
    return folder / "reference.parquet", folder / "current.parquet"


def _fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else (f"{value:.2f}" if value >= 0.1 else f"{value:.3f}")


def markdown(results: dict[str, Any]) -> str:
    rows = results["comparison"]
    ours = rows.get("ours", {}).get("best")
    lines = [
        "# Drift benchmark",
        "",
        f"`{results['command']}` on {results['machine']}, {results['date']} (1-minute "
        f"load average {results['load_average']['start']:.1f} at the start, "
        f"{results['load_average'].get('end', float('nan')):.1f} at the end: other jobs "
        "shared the two cores).",
        f"Data: {results['rows']:,} rows x 20 columns per side (15 numeric, 5 categorical "
        "with 20 levels; 5 numeric and 1 categorical shifted), handed to every contender "
        "as the same Parquet files; loading and imports are not timed.",
        "",
        "| contender | version | best time (s) | runs | ratio to ours | peak RSS while "
        "loading (MB) | RSS after load (MB) | peak RSS during the work (MB) | drifted columns |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    labels = {
        "ours": "jupyter_mlops.drift (2 cores)",
        "ours_unequal": "jupyter_mlops.drift (2 cores), current 1 row shorter",
        "ours_1core": "jupyter_mlops.drift (1 core)",
        "floor": "floor: sort numerics + factorize categoricals (1 core)",
        "scipy": "scipy column by column (ks_2samp + wasserstein; chi2 + JS)",
        "evidently": "Evidently DataDriftPreset",
        "nannyml_ours": "NannyML univariate (wasserstein/JS, 1 chunk), fit + calculate",
        "nannyml_defaults": "NannyML univariate (its defaults: JS, 10 chunks)",
    }
    for key, label in labels.items():
        r = rows.get(key)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {label} | | failed: {r['error']} | | | | | | |")
            continue
        ratio = r["best"] / ours if ours else None
        drifted = ", ".join(r["drifted"]) if r["drifted"] else ("—" if key != "floor" else "")
        lines.append(
            f"| {label} | {r['version']} | {_fmt_s(r['best'])} | {len(r['seconds'])} | "
            f"{'' if ratio is None else f'{ratio:.1f}x'} | {_fmt_mb(r.get('load_peak_mb'))} | "
            f"{r['rss_after_load_mb']:.0f} | {r['maxrss_mb']:.0f} | {drifted} |")
    frames = rows.get("ours", {}).get("frames_mb")
    if frames:
        ours_row = rows["ours"]
        peak_extra = ours_row["maxrss_mb"] - ours_row["rss_after_load_mb"]
        lines += ["", f"Both frames in memory (`memory_usage(deep=True)`): {frames:.0f} MB. "
                  f"During the check ours peaked at {ours_row['maxrss_mb']:.0f} MB for the "
                  f"whole process ({ours_row['maxrss_mb'] / frames:.2f}x the frames, with the "
                  f"interpreter, numpy/pandas/pyarrow and the frames themselves), "
                  f"{peak_extra:.0f} MB above its RSS after loading "
                  f"({peak_extra / frames:.2f}x the frames).",
                  "",
                  "Peak RSS is `getrusage(RUSAGE_SELF).ru_maxrss` of the subprocess. Its "
                  "high-water mark is reset (`/proc/self/clear_refs`, which `ru_maxrss` "
                  "follows) once the data is loaded, so the work's peak is not the one of "
                  "reading Parquet, which has its own column. (Children are "
                  "started by a small orchestrator: `ru_maxrss` carries the parent's RSS "
                  "over `fork`.)"]
    lines += ["", "## Targets", ""]
    for key, target in TARGETS.items():
        r = rows.get(key)
        if not r or "error" in r or not ours:
            continue
        if key == "floor":
            achieved = ours / r["best"]
            lines.append(f"- within {target}x of the floor: ours / floor = {achieved:.2f}x "
                         f"({'met' if achieved <= target else 'not met'})")
        else:
            achieved = r["best"] / ours
            lines.append(f"- >= {target:.0f}x faster than {key}: {achieved:.1f}x "
                         f"({'met' if achieved >= target else 'not met'})")
    if results.get("scaling"):
        lines += ["", "## Scaling (ours, 2 cores)", "",
                  "| rows per side | best time (s) | runs | time per row (ns) | frames (MB) | "
                  "RSS after generating (MB) | peak RSS during the check (MB) |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results["scaling"]:
            if "error" in r:
                lines.append(f"| {r.get('rows', '?')} | failed: {r['error']} | | | | | |")
                continue
            per_row = r["best"] / r["rows"] * 1e9
            lines.append(f"| {r['rows']:,} | {_fmt_s(r['best'])} | {len(r['seconds'])} | "
                         f"{per_row:.0f} | {r['frames_mb']:.0f} | "
                         f"{r['rss_after_load_mb']:.0f} | {r['maxrss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scaling", default="100000,1000000,10000000",
                        help="rows per side for the scaling runs (comma-separated, '' for none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast contenders")
    parser.add_argument("--no-peers", action="store_true", help="skip Evidently and NannyML")
    parser.add_argument("--setup-only", action="store_true", help="create the peer venvs")
    args = parser.parse_args()
    if args.setup_only:
        for peer in PEERS:
            peer_python(peer)
        return
    command = "python benchmarks/drift/bench_drift.py " + " ".join(sys.argv[1:])
    results: dict[str, Any] = {
        "command": command.strip(), "rows": args.rows, "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}", "comparison": {}, "scaling": [],
        "load_average": {"start": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory(prefix="mlops-drift-bench-") as tmp:
        data = write_data(args.rows, Path(tmp))
        here = sys.executable
        for task in ("floor", "ours", "ours_unequal", "ours_1core", "scipy"):
            repeat = 1 if task == "scipy" else args.repeat
            results["comparison"][task] = run_worker(here, task, data=data, repeat=repeat)
        if not args.no_peers:
            for task, peer in (("nannyml_ours", "nannyml"), ("nannyml_defaults", "nannyml"),
                               ("evidently", "evidently")):
                results["comparison"][task] = run_worker(peer_python(peer), task, data=data)
    for rows in [int(r) for r in args.scaling.split(",") if r.strip()]:
        repeat = args.repeat if rows <= 1_000_000 else 2
        results["scaling"].append(run_worker(sys.executable, "ours", rows=rows, repeat=repeat))
    results["load_average"]["end"] = os.getloadavg()[0]
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=1))
    RESULTS_MD.write_text(markdown(results))
    print(RESULTS_MD.read_text())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "write":
        write_task(sys.argv[2:])
    else:
        main()
