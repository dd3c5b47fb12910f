"""``drift()``: compare two DataFrames column by column.

Default test per column (the kind comes from the dtype, see ``columns``;
"reference size" is the number of non-missing reference values):

* numeric or datetime with more than 5 distinct reference values:
  ``ks`` when the reference has at most 1,000 values, normed ``wasserstein``
  above (the KS p-value becomes uselessly small on large samples);
* categorical, boolean and numeric with at most 5 distinct reference values:
  ``chi2`` up to 1,000 values, ``jensen_shannon`` above;
* text (a non-categorical-dtype string column whose reference has more than
  50 distinct values that are more than half of its values): skipped.

The choice depends on the reference only, so a stored reference profile
yields the same tests whatever the current data.

Count-based tests (``psi``, ``kl``, ``jensen_shannon``, ``hellinger``,
``chi2``) on numeric columns with more than 5 distinct reference values use
``bins`` bins cut at the reference's quantiles (open-ended outer bins,
duplicate edges collapsed); low-cardinality numerics use their values as
categories; categorical columns use the union of categories.

Thresholds: ``p < 0.05`` drifts for ``ks``/``chi2``/``z``; ``statistic >= 0.1``
for the distances. ``thresholds`` maps keys to numbers; a key is a test name
(applies to every column using that test) or a column name (applies to that
column, in the unit of whatever test it uses) — column beats test. A key that
is both a column and a test name is rejected as ambiguous; spell it
``"test:ks"`` or ``"column:ks"``. Unknown keys raise, so typos do not silently
fall back to defaults.

Edge cases never raise; they give a row with ``drifted=None`` and a
``reason``: empty or all-missing sides, columns on one side only,
incompatible kinds (e.g. numbers vs strings), unsupported dtypes, text.
A column constant at the same value on both sides is ``drifted=False`` with
reason ``"constant"``; a constant reference with other values in current
keeps the test's verdict (new values are drift) and the note
``"constant in reference"``. ±inf values are dropped like missing ones,
counted in ``inf_reference``/``inf_current`` and noted in ``reason``.
``reason`` is thus always the explanation of a ``None`` verdict and may also
annotate a real one. Bad *arguments* (unknown test or column names, an
ambiguous threshold key, ``bins < 2``) raise ``InvalidInput`` instead.

Columns are independent, so above ``PARALLEL_MIN_CELLS`` rows x columns they
are analysed on ``min(2, cpu_count)`` threads (numpy releases the GIL in its
sorts); results are identical to the serial run and keep column order.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from . import stats as S
from .arguments import Job, check_arguments, plan_jobs, sample_rows
from .report import ColumnDrift, DriftReport, Summary

#: Reference values up to which the default tests are ks/chi2 (above: wasserstein/JS).
SMALL_REFERENCE = 1_000
#: Numeric columns with at most this many distinct reference values count as categorical.
LOW_CARDINALITY = 5
#: Rows x columns above which columns are analysed on two threads.
PARALLEL_MIN_CELLS = 2_000_000
PLOT_BINS = 30
PLOT_CATEGORIES = 30
MAX_UNSEEN_LISTED = 20


def drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[Hashable] | None = None,
    column_kinds: Mapping[Hashable, str] | None = None,
    tests: str | Mapping[Hashable, str] | None = None,
    thresholds: Mapping[Hashable, float] | None = None,
    drift_share: float = 0.5,
    sample: int | None = None,
    bins: int = 10,
    random_state: int = 0,
    *,
    reference_mode: str = "exact",
    record: bool | None = None,
    log_to_run: bool = True,
    workspace: Any = None,
    origin: str = "python",
) -> DriftReport:
    """Per-column drift between ``reference`` and ``current`` plus a dataset verdict.

    ``reference`` and ``current`` are DataFrames or dataset versions
    (``"name@version"``, ``"name"`` for the latest, or a ``DatasetVersion``);
    a reference version is read from its stored profile where that is exact
    and ``reference_mode`` says how to treat the rest (see ``sources``).
    ``tests`` is one test name for every column or ``{column: test}``;
    ``column_kinds`` forces a kind per column (one of ``columns.KINDS``);
    ``sample`` draws that many rows from each side (seeded by
    ``random_state``) only when given. The dataset drifts when the share of
    drifted columns, among those with a verdict, is at least ``drift_share``.

    ``record`` keeps the check in the workspace's drift history (default:
    when a side is a dataset version, the only case with names to file it
    under; ``origin`` is stored with it, surfaces pass their name);
    ``log_to_run`` logs it to the active tracking run, if any.
    """
    if isinstance(reference, pd.DataFrame) and isinstance(current, pd.DataFrame) and not record:
        report = compare_frames(reference, current, columns, column_kinds, tests, thresholds,
                                drift_share, sample, bins, random_state)
    else:
        from .sources import compare_sources

        report = compare_sources(
            reference, current, columns=columns, column_kinds=column_kinds, tests=tests,
            thresholds=thresholds, drift_share=drift_share, sample=sample, bins=bins,
            random_state=random_state, reference_mode=reference_mode, record=record,
            workspace=workspace, origin=origin)
    if log_to_run:
        from .runlog import log_to_active_run

        log_to_active_run(report)
    return report


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[Hashable] | None = None,
    column_kinds: Mapping[Hashable, str] | None = None,
    tests: str | Mapping[Hashable, str] | None = None,
    thresholds: Mapping[Hashable, float] | None = None,
    drift_share: float = 0.5,
    sample: int | None = None,
    bins: int = 10,
    random_state: int = 0,
) -> DriftReport:
    """The engine proper on two DataFrames: no recording, no logging."""
    check_arguments(reference, current, bins, drift_share, sample)
    if sample is not None:
        reference = sample_rows(reference, int(sample), random_state)
        current = sample_rows(current, int(sample), random_state + 1)
    jobs = plan_jobs(reference, current, columns, column_kinds, tests, thresholds, int(bins))
    results = run_jobs(jobs, (len(reference) + len(current)) * len(jobs))
    return DriftReport(
        columns=results,
        drift_share=float(drift_share),
        options=report_options(bins, sample, random_state, len(reference), len(current),
                               thresholds),
    )


def report_options(bins: int, sample: int | None, random_state: int, reference_rows: int,
                   current_rows: int, thresholds: Mapping[Hashable, float] | None
                   ) -> dict[str, Any]:
    return {
        "bins": int(bins),
        "sample": None if sample is None else int(sample),
        "random_state": int(random_state),
        "reference_rows": int(reference_rows),
        "current_rows": int(current_rows),
        "thresholds": {str(k): float(v) for k, v in (thresholds or {}).items()},
    }


def run_jobs(jobs: list[Job], cells: int) -> list[ColumnDrift]:
    """Analyse every column, on two threads when the data is large enough to pay off."""
    workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(jobs) > 1 and cells >= PARALLEL_MIN_CELLS:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_analyse_safely, jobs))  # map keeps column order
    return [_analyse_safely(job) for job in jobs]


# ------------------------------------------------------------------- analysis


def _analyse_safely(job: Job) -> ColumnDrift:
    """Analyse one column; unexpected data must cost a row, not the whole report."""
    try:
        if job.profile is not None:
            from .profiled import analyse_profiled

            return analyse_profiled(job)
        return _analyse(job)
    except Exception as exc:  # noqa: BLE001 - reported in the row, by design
        return ColumnDrift(name=str(job.name), kind="unknown", reason=f"error: {exc!r}")


def _analyse(job: Job) -> ColumnDrift:
    result = ColumnDrift(name=str(job.name), kind="unknown")
    for side, series in (("reference", job.reference), ("current", job.current)):
        if isinstance(series, pd.DataFrame):
            result.reason = f"duplicate column name in {side}"
            return result
    ref, cur = job.reference, job.current
    if ref is None or cur is None:
        present = ref if ref is not None else cur
        result.kind = job.kind or C.detect_kind(present)
        result.reason = "missing in current" if cur is None else "missing in reference"
        return _missing_shares(result, ref, cur)
    ref_kind, cur_kind = C.detect_kind(ref), C.detect_kind(cur)
    kind = job.kind
    if kind is None:
        kind = cur_kind if ref_kind == C.EMPTY else ref_kind
        if cur_kind not in (C.EMPTY, kind) and kind != C.EMPTY:
            result.kind = kind
            result.reason = f"dtype mismatch: {ref_kind} in reference, {cur_kind} in current"
            return _missing_shares(result, ref, cur)
    result.kind = kind
    if kind == C.UNSUPPORTED:
        result.reason = f"unsupported dtype {ref.dtype}"
        return _missing_shares(result, ref, cur)
    if kind == C.TEXT:
        result.reason = "text column (skipped)"
        return _missing_shares(result, ref, cur)
    if kind == C.EMPTY:
        kind = result.kind = C.CATEGORICAL  # all-missing both sides: only shares to report
    if kind in (C.NUMERIC, C.DATETIME):
        return _numeric(job, result)
    return _categorical(job, result, auto_kind=job.kind is None)


def _missing_shares(
    result: ColumnDrift, ref: pd.Series | None, cur: pd.Series | None
) -> ColumnDrift:
    """Missing shares for rows that end early: they are cheap and still informative."""
    if ref is not None and len(ref):
        result.nan_share_reference = float(ref.isna().mean())
    if cur is not None and len(cur):
        result.nan_share_current = float(cur.isna().mean())
    return result


def _note(result: ColumnDrift, text: str) -> None:
    result.reason = text if not result.reason else f"{result.reason}; {text}"


def _threshold(job: Job, test: str) -> float:
    return job.threshold if job.threshold is not None else job.test_thresholds[test]


def _verdict(result: ColumnDrift, job: Job, test: str, stat: float, p: float | None) -> None:
    result.test = test
    result.statistic = stat
    result.p_value = p
    result.threshold = _threshold(job, test)
    score = p if test in S.P_VALUE_TESTS else stat
    if score is None or not np.isfinite(score):
        result.drifted = None
        _note(result, "statistic undefined")
    elif test in S.P_VALUE_TESTS:
        result.drifted = bool(score < result.threshold)
    else:
        result.drifted = bool(score >= result.threshold)


def _default_test(n_reference: int, categorical: bool) -> str:
    if categorical:
        return "chi2" if n_reference <= SMALL_REFERENCE else "jensen_shannon"
    return "ks" if n_reference <= SMALL_REFERENCE else "wasserstein"


def _no_values(result: ColumnDrift, rows: tuple[int, int], valid: tuple[int, int]) -> bool:
    for side, n_rows, n_valid in zip(("reference", "current"), rows, valid):
        if n_valid == 0:
            _note(result, f"no rows in {side}" if n_rows == 0 else f"no valid values in {side}")
            return True
    return False


def _numeric(job: Job, result: ColumnDrift, ref: C.NumericSide | None = None) -> ColumnDrift:
    """``ref`` may come precomputed (from a stored profile, possibly as a sketch)."""
    ref = ref if ref is not None else C.numeric_side(job.reference, result.kind)
    cur = C.numeric_side(job.current, result.kind)
    result.n_reference, result.n_current = ref.n_values, cur.values.size
    result.nan_share_reference = ref.n_missing / ref.n_rows if ref.n_rows else None
    result.nan_share_current = cur.n_missing / cur.n_rows if cur.n_rows else None
    result.inf_reference, result.inf_current = ref.n_inf, cur.n_inf
    if ref.n_inf or cur.n_inf:
        _note(result, f"infinite values dropped: {ref.n_inf} in reference, {cur.n_inf} in current")
    if _no_values(result, (ref.n_rows, cur.n_rows), (ref.values.size, cur.values.size)):
        return result
    n_distinct = ref.n_distinct()
    low_cardinality = n_distinct <= LOW_CARDINALITY
    test = job.test or _default_test(ref.n_values, low_cardinality)
    sketch = ref.approx_n is not None  # ref.values is a profile's quantile sketch
    result.summary = _histogram(ref, cur.values)
    if test in S.SORTED_TESTS:
        if test == "ks" and sketch:
            stat = S.ks_sketch(ref.values, cur.values)
            p = S.ks_pvalue(stat, ref.n_values, cur.values.size)[1]  # the real sample size
        elif test == "ks":
            stat, p = S.ks(ref.values, cur.values)
        elif sketch:
            spread = max(ref.std or 0.0, S.WASSERSTEIN_MIN_STD)
            stat, p = S.wasserstein_sketch(ref.values, cur.values) / spread, None
        else:
            stat, p = S.wasserstein(ref.values, cur.values), None
        result.approximate = sketch
        _verdict(result, job, test, stat, p)
    elif test == "z" and max(n_distinct, C.n_distinct_sorted(cur.values)) > 2:
        result.test, result.threshold = test, _threshold(job, test)
        _note(result, "z test needs a binary column")
    elif low_cardinality or test == "z":
        labels, rc, cc = C.align_sorted(*ref.distinct_counts(), *C.sorted_categories(cur.values))
        result.approximate = ref.approx_n is not None and ref.distinct is None
        _count_test(job, result, test, labels, rc, cc)
    else:
        edges = S.quantile_edges(ref.values, job.bins)
        if sketch:
            rc = S.sketch_binned_counts(ref.values, edges, ref.n_values)
            result.approximate = True
        else:
            rc = S.binned_counts(ref.values, edges)
        cc = S.binned_counts(cur.values, edges)
        lo, hi = min(ref.values[0], cur.values[0]), max(ref.values[-1], cur.values[-1])
        outer = np.concatenate(([lo], edges, [hi])).tolist()
        result.bins = Summary("histogram", rc.tolist(), cc.tolist(), edges=outer)
        _verdict(result, job, test, *_count_stat(test, rc, cc))
    ref_constant = bool(ref.values[0] == ref.values[-1])
    both = ref_constant and cur.values[0] == cur.values[-1] == ref.values[0]
    _mark_constant(result, ref_constant, bool(both))
    return result


def _categorical(job: Job, result: ColumnDrift, auto_kind: bool,
                 ref: C.CategoricalSide | None = None) -> ColumnDrift:
    """``ref`` may come precomputed from a stored profile (whose kind already says text)."""
    from_profile = ref is not None
    ref = ref if ref is not None else C.categorical_side(job.reference)
    result.nan_share_reference = ref.n_missing / ref.n_rows if ref.n_rows else None
    result.n_reference = int(ref.counts.sum())
    declared_categorical = from_profile or isinstance(job.reference.dtype, pd.CategoricalDtype)
    if auto_kind and job.test is None and not declared_categorical and C.looks_like_text(ref):
        result.kind = C.TEXT
        result.reason = (
            f"text column skipped ({len(ref.labels)} distinct values in "
            f"{result.n_reference} values)"
        )
        return result
    cur = C.categorical_side(job.current)
    result.nan_share_current = cur.n_missing / cur.n_rows if cur.n_rows else None
    result.n_current = int(cur.counts.sum())
    if _no_values(result, (ref.n_rows, cur.n_rows), (result.n_reference, result.n_current)):
        return result
    test = job.test or _default_test(result.n_reference, categorical=True)
    if test in S.SORTED_TESTS:
        result.test, result.threshold = test, _threshold(job, test)
        result.reason = f"{test} needs a numeric or datetime column"
        return result
    labels, rc, cc = C.align(ref.labels, ref.counts, cur.labels, cur.counts)
    _count_test(job, result, test, labels, rc, cc)
    _mark_constant(result, len(ref.labels) == 1, len(labels) == 1)
    return result


def _count_stat(test: str, rc: np.ndarray, cc: np.ndarray) -> tuple[float, float | None]:
    if test == "chi2":
        return S.chi2(rc, cc)
    if test == "z":
        return S.z_test(rc, cc)
    return S.COUNT_TESTS[test](rc, cc), None


def _count_test(
    job: Job, result: ColumnDrift, test: str, labels: np.ndarray, rc: np.ndarray, cc: np.ndarray
) -> None:
    """Run a count-based test on aligned categories and record unseen ones."""
    unseen = labels[(rc == 0) & (cc > 0)]
    result.n_unseen = int(unseen.size)
    result.unseen_categories = [C.label_text(x, result.kind) for x in unseen[:MAX_UNSEEN_LISTED]]
    result.summary = _categories(labels, rc, cc, result.kind)
    if test == "z" and len(labels) > 2:
        result.test, result.threshold = test, _threshold(job, test)
        _note(result, f"z test needs a binary column, found {len(labels)} values")
        return
    _verdict(result, job, test, *_count_stat(test, rc, cc))


def _mark_constant(result: ColumnDrift, in_reference: bool, in_both: bool) -> None:
    """Same single value on both sides: no drift by definition, whatever the test says.

    A constant reference with other values in current keeps the test's verdict
    (new values are drift) and only gets a note.
    """
    if in_both:
        result.drifted = False
        _note(result, "constant")
    elif in_reference:
        _note(result, "constant in reference")


# ---------------------------------------------------------------- summaries


def _histogram(ref_side: C.NumericSide, cur: np.ndarray) -> Summary:
    """Equal-width histogram of both sides over their joint range, for plots.

    A reference given as a sketch gets counts estimated from it for the
    values it stands for (the row is flagged approximate then).
    """
    ref = ref_side.values
    lo, hi = float(min(ref[0], cur[0])), float(max(ref[-1], cur[-1]))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, PLOT_BINS + 1)
    if ref_side.approx_n is not None:
        ref_counts = S.sketch_binned_counts(ref, edges[1:-1], ref_side.approx_n)
    else:
        ref_counts = S.histogram_counts(ref, edges)
    return Summary(
        "histogram",
        ref_counts.tolist(),
        S.histogram_counts(cur, edges).tolist(),
        edges=edges.tolist(),
    )


def _categories(labels: np.ndarray, rc: np.ndarray, cc: np.ndarray, kind: str) -> Summary:
    """The most frequent categories (by both sides), the rest folded into "(other)"."""
    order = np.argsort(-(rc + cc), kind="stable")
    top, rest = order[:PLOT_CATEGORIES], order[PLOT_CATEGORIES:]
    names = [C.label_text(x, kind) for x in labels[top]]
    ref_counts, cur_counts = rc[top].tolist(), cc[top].tolist()
    if rest.size:
        names.append("(other)")
        ref_counts.append(int(rc[rest].sum()))
        cur_counts.append(int(cc[rest].sum()))
    return Summary("categories", ref_counts, cur_counts, labels=names)
