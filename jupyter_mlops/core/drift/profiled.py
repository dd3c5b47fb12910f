"""One column's analysis when the reference side is a stored profile entry.

The same decisions as ``engine._analyse`` (kinds, mismatches, text, empty
sides), taken on the profile's kind and counts instead of a Series; the
statistics then run through the engine's own ``_numeric``/``_categorical``
with the reference side built by ``sources`` — one code path for the
numbers, whichever way the reference arrived.
"""

from __future__ import annotations

import pandas as pd

from . import columns as C
from .arguments import Job
from .report import ColumnDrift


def analyse_profiled(job: Job) -> ColumnDrift:
    from .engine import _categorical, _numeric
    from .sources import categorical_reference, numeric_reference

    entry = job.profile or {}
    result = ColumnDrift(name=str(job.name), kind="unknown")
    profile_kind = entry.get("kind", C.UNSUPPORTED)
    nan_share = entry.get("null_share")
    cur = job.current
    if isinstance(cur, pd.DataFrame):
        result.reason = "duplicate column name in current"
        return result
    if cur is None:
        result.kind = job.kind or profile_kind
        result.reason = "missing in current"
        result.nan_share_reference = nan_share
        return result
    cur_kind = C.detect_kind(cur)
    if profile_kind == C.TEXT and cur_kind == C.CATEGORICAL:
        cur_kind = C.TEXT  # text is told from the values, which the dtype alone cannot
    kind = job.kind
    if kind is None:
        kind = cur_kind if profile_kind == C.EMPTY else profile_kind
        if cur_kind not in (C.EMPTY, kind) and kind != C.EMPTY:
            result.kind = kind
            result.reason = (f"dtype mismatch: {profile_kind} in reference, "
                             f"{cur_kind} in current")
            return _shares(result, nan_share, cur)
    result.kind = kind
    if kind == C.UNSUPPORTED:
        result.reason = f"unsupported dtype {entry.get('dtype')}"
        return _shares(result, nan_share, cur)
    if kind == C.TEXT:
        result.n_reference = int(entry.get("count") or 0)
        result.reason = (f"text column skipped ({entry.get('distinct')} distinct values in "
                         f"{result.n_reference} values)")
        result.nan_share_reference = nan_share
        return result
    if kind == C.EMPTY:
        kind = result.kind = C.CATEGORICAL
    if kind in (C.NUMERIC, C.DATETIME):
        return _numeric(job, result, ref=numeric_reference(entry))
    side, folded = categorical_reference(entry)
    result = _categorical(job, result, auto_kind=job.kind is None, ref=side)
    if folded and result.test is not None:
        result.approximate = True
    return result


def _shares(result: ColumnDrift, nan_share: float | None, cur: pd.Series) -> ColumnDrift:
    result.nan_share_reference = nan_share
    if len(cur):
        result.nan_share_current = float(cur.isna().mean())
    return result
