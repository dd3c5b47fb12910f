"""Column kinds and the one-pass conversions the statistics consume.

A column is reduced, per side, to either its *sorted finite float values*
(numeric, datetime — datetimes as int64 nanoseconds since the epoch, in UTC
when tz-aware; naive timestamps are taken as UTC wall time) or its *category
counts* (categorical, boolean). Missing values (NaN, None, NA, NaT) are
counted and dropped; ±inf is counted separately and dropped too, because one
infinite value makes every distance infinite and says nothing about the rest
of the distribution.

Kinds are detected from the dtype; ``object`` columns are classified with
``pandas.api.types.infer_dtype`` so a column of Python bools or numbers with a
``None`` behaves like its clean counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
DATETIME = "datetime"
TEXT = "text"
#: Kinds a caller may force through ``drift(column_kinds=...)``.
KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT)
#: Internal kinds: a side with no non-null value, and dtypes we do not test.
EMPTY = "empty"
UNSUPPORTED = "unsupported"

#: A categorical column is treated as free text (and skipped) when its
#: reference has more than this many distinct values ...
TEXT_MIN_DISTINCT = 50
#: ... and they make up more than this share of its non-missing values.
TEXT_MIN_DISTINCT_SHARE = 0.5

_INFERRED = {
    "boolean": BOOLEAN,
    "integer": NUMERIC,
    "floating": NUMERIC,
    "mixed-integer-float": NUMERIC,
    "decimal": NUMERIC,
    "datetime": DATETIME,
    "datetime64": DATETIME,
    "date": DATETIME,
    "empty": EMPTY,
    "string": CATEGORICAL,
    "bytes": CATEGORICAL,
    "mixed": CATEGORICAL,
    "mixed-integer": CATEGORICAL,
    "categorical": CATEGORICAL,
}


def detect_kind(series: pd.Series) -> str:
    """The kind one side of a column has on its own, from its dtype."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if dtype == object:
        return _INFERRED.get(pdt.infer_dtype(series, skipna=True), UNSUPPORTED)
    if pdt.is_bool_dtype(dtype):
        return BOOLEAN
    if pdt.is_datetime64_any_dtype(dtype) or pdt.is_timedelta64_dtype(dtype):
        return DATETIME if pdt.is_datetime64_any_dtype(dtype) else NUMERIC
    if pdt.is_complex_dtype(dtype):
        return UNSUPPORTED
    if pdt.is_numeric_dtype(dtype):
        return NUMERIC
    if pdt.is_string_dtype(dtype):
        return CATEGORICAL
    return UNSUPPORTED


@dataclass
class NumericSide:
    """One side of a numeric/datetime column, reduced for the sorted tests."""

    values: np.ndarray  # sorted, finite float64
    n_rows: int
    n_missing: int
    n_inf: int
    #: set when ``values`` is a quantile sketch standing for this many values
    #: (a stored dataset profile); the tests on it are then approximate
    approx_n: int | None = None
    #: the reference's standard deviation (ddof=0) when ``values`` is a sketch
    std: float | None = None
    #: exact distinct values and counts when known apart from ``values``
    distinct: tuple[np.ndarray, np.ndarray] | None = None
    #: the exact number of distinct values when ``values`` is a sketch
    known_distinct: int | None = None

    @property
    def n_values(self) -> int:
        """How many finite values this side stands for."""
        return self.approx_n if self.approx_n is not None else int(self.values.size)

    def n_distinct(self) -> int:
        if self.distinct is not None:
            return int(self.distinct[0].size)
        if self.known_distinct is not None:
            return self.known_distinct
        return n_distinct_sorted(self.values)

    def distinct_counts(self) -> tuple[np.ndarray, np.ndarray]:
        return self.distinct if self.distinct is not None else sorted_categories(self.values)


@dataclass
class CategoricalSide:
    """One side of a categorical column: distinct labels and their counts."""

    labels: np.ndarray  # object array, distinct, missing excluded
    counts: np.ndarray  # int64, aligned with labels
    n_rows: int
    n_missing: int


def _ns_factor(dtype: np.dtype) -> float:
    unit = np.datetime_data(dtype)[0]
    return float(np.timedelta64(1, unit) / np.timedelta64(1, "ns"))


def _temporal_to_float(series: pd.Series) -> tuple[np.ndarray, int]:
    """Datetimes/timedeltas as float nanoseconds, whatever their unit; NaT dropped."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = series.to_numpy()
    missing = np.isnat(arr)
    values = arr[~missing].view(np.int64).astype(np.float64) * _ns_factor(arr.dtype)
    return values, int(missing.sum())


def numeric_side(series: pd.Series, kind: str) -> NumericSide:
    """Sorted finite values of one side; the sort is the column's main cost."""
    n_rows = len(series)
    dtype = series.dtype
    if kind == DATETIME and not pdt.is_datetime64_any_dtype(dtype):
        series = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    elif kind == NUMERIC and (dtype == object or pdt.is_string_dtype(dtype)):
        series = pd.to_numeric(series, errors="coerce")
    elif isinstance(dtype, pd.CategoricalDtype):
        series = pd.to_numeric(series.astype(object), errors="coerce")
    if pdt.is_datetime64_any_dtype(series.dtype) or pdt.is_timedelta64_dtype(series.dtype):
        values, n_missing = _temporal_to_float(series)
        n_inf = 0
    else:
        if pdt.is_bool_dtype(series.dtype):
            series = series.astype("Float64")
        arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(arr)
        n_missing = int(np.isnan(arr).sum())
        n_inf = n_rows - n_missing - int(finite.sum())
        values = arr[finite]
    values.sort()
    return NumericSide(values, n_rows, n_missing, n_inf)


def categorical_side(series: pd.Series) -> CategoricalSide:
    """Distinct labels and counts via factorize + bincount, one pass."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    labels = np.asarray(uniques, dtype=object)
    return CategoricalSide(labels, counts[1:].astype(np.int64), len(series), int(counts[0]))


def sorted_categories(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and counts of a sorted array (low-cardinality numerics)."""
    if values.size == 0:
        return values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return values[starts], np.diff(np.concatenate((starts, [values.size]))).astype(np.int64)


def n_distinct_sorted(values: np.ndarray) -> int:
    """Number of distinct values in a sorted array."""
    return int(np.count_nonzero(values[1:] != values[:-1])) + 1 if values.size else 0


def looks_like_text(side: CategoricalSide) -> bool:
    """Free text rather than categories: many labels, mostly unique."""
    n_valid = side.n_rows - side.n_missing
    n_distinct = len(side.labels)
    return n_distinct > TEXT_MIN_DISTINCT and n_distinct > TEXT_MIN_DISTINCT_SHARE * n_valid


def _sort_key(label: object) -> tuple[str, str]:
    return (type(label).__name__, str(label))


def align(
    ref_labels: np.ndarray,
    ref_counts: np.ndarray,
    cur_labels: np.ndarray,
    cur_counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of both sides over the sorted union of their labels.

    Sorting makes the order independent of row order, which fixes the
    orientation of the z test (second label = ``True``/larger value) and
    keeps reports reproducible. Mixed, unorderable labels sort by type name
    first.
    """
    union = pd.Index(np.concatenate((ref_labels, cur_labels)), dtype=object).unique()
    try:
        order = np.argsort(np.asarray(union, dtype=object), kind="stable")
        labels = np.asarray(union, dtype=object)[order]
    except TypeError:
        labels = np.asarray(sorted(union, key=_sort_key), dtype=object)
    index = pd.Index(labels, dtype=object)
    ref = np.zeros(len(labels), dtype=np.int64)
    cur = np.zeros(len(labels), dtype=np.int64)
    np.add.at(ref, index.get_indexer(pd.Index(ref_labels, dtype=object)), ref_counts)
    np.add.at(cur, index.get_indexer(pd.Index(cur_labels, dtype=object)), cur_counts)
    return labels, ref, cur


def align_sorted(
    ref_values: np.ndarray,
    ref_counts: np.ndarray,
    cur_values: np.ndarray,
    cur_counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``align`` for distinct sorted floats, in numpy: a low-cardinality
    reference may meet a current side with a million distinct values."""
    labels = np.union1d(ref_values, cur_values)
    ref = np.zeros(labels.size, dtype=np.int64)
    cur = np.zeros(labels.size, dtype=np.int64)
    ref[np.searchsorted(labels, ref_values)] = ref_counts
    cur[np.searchsorted(labels, cur_values)] = cur_counts
    return labels, ref, cur


def label_text(label: object, kind: str = CATEGORICAL) -> str:
    """JSON-friendly label: integral floats print without ``.0``, datetimes as ISO."""
    if kind == DATETIME and isinstance(label, (float, np.floating)):
        return pd.Timestamp(int(label)).isoformat()
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    if isinstance(label, (float, np.floating)):
        return f"{float(label):.6g}"
    return str(label)
