"""Hand-run timing of ``drift()`` on a large frame (not a test).

    python -m jupyter_mlops.core.drift.benchmark [rows]

Builds ``rows`` x 20 columns per side (15 numeric, 5 categorical with 20
levels; every third numeric and the first categorical shifted in current) and
prints the best of three runs with the default thread pool and with one thread.
"""

from __future__ import annotations

import sys
import time
from unittest import mock

import numpy as np
import pandas as pd

from . import engine
from .engine import drift


def make_frames(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{i:02d}" for i in range(20)])
    reference, current = {}, {}
    for i in range(15):
        reference[f"num_{i}"] = rng.normal(size=rows)
        current[f"num_{i}"] = rng.normal(0.3 if i % 3 == 0 else 0.0, size=rows)
    skewed = np.linspace(1.0, 5.0, 20)
    for i in range(5):
        reference[f"cat_{i}"] = levels[rng.integers(0, 20, rows)]
        weights = skewed / skewed.sum() if i == 0 else None
        current[f"cat_{i}"] = levels[rng.choice(20, rows, p=weights)]
    return pd.DataFrame(reference), pd.DataFrame(current)


def _best(reference: pd.DataFrame, current: pd.DataFrame, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        drift(reference, current)
        best = min(best, time.perf_counter() - start)
    return best


def main(rows: int = 1_000_000) -> None:
    reference, current = make_frames(rows)
    report = drift(reference, current)
    print(report.headline())
    shape = f"{rows:,} rows x {reference.shape[1]} columns"
    print(f"{shape}, default pool: {_best(reference, current):.2f} s")
    with mock.patch.object(engine.os, "cpu_count", return_value=1):
        print(f"{shape}, one thread:   {_best(reference, current):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
