"""Per-column profiles, computed once per version and stored as JSON with it.

The profile is also the *reference* the drift capability compares against, so
it keeps what two-sample statistics need without re-reading the data:

* numeric and datetime columns: a **sorted-quantile sketch** (all sorted
  finite values up to `SKETCH_EXACT_MAX`, which keeps the exact KS test
  possible for small references; above that the values at `SKETCH_POINTS`
  evenly spaced quantile levels, enough for Wasserstein and for cutting
  PSI/Jensen-Shannon bins at reference quantiles), an equal-width histogram
  for plots, and exact value counts when there are few distinct values
  (drift treats those columns as categorical);
* categorical and boolean columns: category counts (the top
  `MAX_CATEGORIES`, with the remainder folded into `other`).

Datetimes are expressed as float nanoseconds since the epoch (UTC; naive
values taken as UTC wall time), the convention of `core.drift.columns`;
`min_iso`/`max_iso` are there for people. Kind names match the drift engine's.
Every number is JSON-safe: non-finite values become `null`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

# Kinds, their detection and the free-text heuristic are the drift engine's own, so a
# stored profile and a drift check against it can never disagree on what a column is.
from ..drift.columns import (
    BOOLEAN,
    CATEGORICAL,
    DATETIME,
    EMPTY,
    NUMERIC,
    TEXT,
    TEXT_MIN_DISTINCT,
    TEXT_MIN_DISTINCT_SHARE,
    UNSUPPORTED,
    detect_kind,
)

PROFILE_FORMAT = 1
QUANTILE_LEVELS = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 20
SKETCH_EXACT_MAX = 1000
SKETCH_POINTS = 1001
TOP_CATEGORIES = 20
MAX_CATEGORIES = 1000
#: numeric columns with at most this many distinct values also get exact value counts
NUMERIC_COUNTS_MAX_DISTINCT = 50


def json_number(value: Any) -> float | int | None:
    """A JSON-safe number (strict JSON and PostgreSQL reject NaN and infinities)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def json_label(value: Any) -> Any:
    """A category label as JSON: numbers and bools stay typed, the rest become text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return json_number(value)
    if isinstance(value, str):
        return value
    return str(value)


def _numbers(values: np.ndarray) -> list[float | None]:
    return [json_number(v) for v in values.tolist()]


def _at_levels(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolated quantiles of sorted data (as `np.quantile`, without a re-sort)."""
    n = sorted_values.size
    pos = levels * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def _ns_factor(dtype: np.dtype) -> float:
    unit = np.datetime_data(dtype)[0]
    return float(np.timedelta64(1, unit) / np.timedelta64(1, "ns"))


def _finite_floats(series: pd.Series, kind: str) -> tuple[np.ndarray, int, int]:
    """(finite float values, missing count, infinite count); datetimes as float ns."""
    if kind == DATETIME and not pdt.is_datetime64_any_dtype(series.dtype):
        series = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pdt.is_datetime64_any_dtype(series.dtype) or pdt.is_timedelta64_dtype(series.dtype):
        arr = series.to_numpy()
        missing = np.isnat(arr)
        values = arr[~missing].view(np.int64).astype(np.float64) * _ns_factor(arr.dtype)
        return values, int(missing.sum()), 0
    if series.dtype == object or isinstance(series.dtype, pd.CategoricalDtype):
        series = pd.to_numeric(series.astype(object), errors="coerce")
    arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(arr)
    n_missing = int(np.isnan(arr).sum())
    return arr[finite], n_missing, int(arr.size - n_missing - finite.sum())


def _histogram(sorted_values: np.ndarray, integral: bool) -> dict[str, list[Any]]:
    lo, hi = float(sorted_values[0]), float(sorted_values[-1])
    if lo == hi:
        return {"edges": [lo, hi], "counts": [int(sorted_values.size)]}
    if integral and hi - lo < HISTOGRAM_BINS:
        # one bin per integer: equal-width bins would straddle values and leave gaps
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
    else:
        edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    # bins are [e_i, e_i+1), the last one closed, like np.histogram
    cuts = np.searchsorted(sorted_values, edges[1:-1], side="left")
    counts = np.diff(np.concatenate(([0], cuts, [sorted_values.size])))
    return {"edges": _numbers(edges), "counts": counts.astype(int).tolist()}


def _value_counts(labels: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    order = np.argsort(-counts, kind="stable")
    kept = order[:MAX_CATEGORIES]
    return {
        "values": [json_label(v) for v in labels[kept].tolist()],
        "counts": counts[kept].astype(int).tolist(),
        "other": int(counts[order[MAX_CATEGORIES:]].sum()),
        "truncated": bool(order.size > MAX_CATEGORIES),
    }


def _numeric(col: dict[str, Any], series: pd.Series, kind: str) -> None:
    values, n_missing, n_inf = _finite_floats(series, kind)
    col["missing"] = n_missing
    col["n_inf"] = n_inf
    values.sort()
    n = values.size
    if n == 0:
        col["distinct"] = 0
        return
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    col["distinct"] = int(change.size + 1)
    integral = pdt.is_integer_dtype(series.dtype)
    as_out = (lambda v: int(v)) if integral else json_number  # noqa: E731 - tiny selector
    col.update(min=as_out(values[0]), max=as_out(values[-1]), mean=json_number(values.mean()),
               std=json_number(values.std(ddof=1)) if n > 1 else None)
    levels = np.asarray(QUANTILE_LEVELS)
    col["quantiles"] = {"levels": list(QUANTILE_LEVELS),
                        "values": _numbers(_at_levels(values, levels))}
    col["histogram"] = _histogram(values, integral)
    if n <= SKETCH_EXACT_MAX:
        col["sketch"] = {"exact": True, "n": n, "values": _numbers(values)}
    else:
        sketch = _at_levels(values, np.linspace(0.0, 1.0, SKETCH_POINTS))
        col["sketch"] = {"exact": False, "n": n, "values": _numbers(sketch)}
    if col["distinct"] <= NUMERIC_COUNTS_MAX_DISTINCT:
        starts = np.concatenate(([0], change))
        counts = np.diff(np.concatenate((starts, [n])))
        labels = values[starts].astype(np.int64) if integral else values[starts]
        col["categories"] = _value_counts(labels, counts)
    if kind == DATETIME:
        col["unit"] = "ns_since_epoch"
        col["min_iso"] = pd.Timestamp(int(values[0]), unit="ns").isoformat()
        col["max_iso"] = pd.Timestamp(int(values[-1]), unit="ns").isoformat()
    elif pdt.is_timedelta64_dtype(series.dtype):
        col["unit"] = "ns"


def _categorical(col: dict[str, Any], series: pd.Series, kind: str) -> str:
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): report, do not crash
        col["missing"] = int(series.isna().sum())
        return UNSUPPORTED
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    col["missing"] = int(counts[0])
    labels = np.asarray(uniques, dtype=object)
    counts = counts[1:]
    col["distinct"] = int(labels.size)
    n_valid = int(counts.sum())
    if kind == CATEGORICAL and labels.size > TEXT_MIN_DISTINCT \
            and labels.size > TEXT_MIN_DISTINCT_SHARE * n_valid:
        kind = TEXT
    order = np.argsort(-counts, kind="stable")[:TOP_CATEGORIES]
    col["top"] = [{"value": json_label(labels[i]), "count": int(counts[i])} for i in order]
    if kind != TEXT:
        col["categories"] = _value_counts(labels, counts)
    if kind == BOOLEAN and n_valid:
        true_count = int(sum(int(c) for v, c in zip(labels.tolist(), counts.tolist()) if v))
        col["mean"] = true_count / n_valid
    return kind


def profile_column(name: Any, series: pd.Series) -> dict[str, Any]:
    kind = detect_kind(series)
    n = len(series)
    col: dict[str, Any] = {"name": str(name), "dtype": str(series.dtype), "kind": kind,
                           "count": 0, "missing": 0, "null_share": None, "distinct": None}
    if kind in (NUMERIC, DATETIME):
        _numeric(col, series, kind)
    elif kind in (CATEGORICAL, BOOLEAN):
        col["kind"] = _categorical(col, series, kind)
    else:  # empty or unsupported: counts only
        col["missing"] = int(series.isna().sum())
    if n and col["missing"] == n and kind != UNSUPPORTED:
        col["kind"] = EMPTY
    col["count"] = n - col["missing"]
    col["null_share"] = col["missing"] / n if n else None
    return col


def profile_frame(df: pd.DataFrame) -> dict[str, Any]:
    """The stored profile of a table version; one pass (one sort) per numeric column."""
    return {
        "format": PROFILE_FORMAT,
        "rows": int(len(df)),
        "columns": [profile_column(name, df.iloc[:, i]) for i, name in enumerate(df.columns)],
    }


def frame_schema(df: pd.DataFrame) -> list[dict[str, str]]:
    """Ordered column names and pandas dtypes: what `diff` compares for retyped columns."""
    return [{"name": str(name), "dtype": str(dtype)} for name, dtype in df.dtypes.items()]


def column_profile(profile: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """One column's entry of a stored profile, by name (the drift engine's accessor)."""
    for col in (profile or {}).get("columns", []):
        if col["name"] == name:
            return col
    return None
