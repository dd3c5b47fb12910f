"""Where drift's two sides come from: DataFrames, dataset versions, deployment logs.

A side given as ``"deployment:name@window"`` is a window of a deployment's
prediction log (see ``deployment_side``): drift's "current" data in production.

A side given as ``"name@version"`` (``"name"`` alone means ``latest``; the
version is anything ``get_version`` accepts: a tag or a hash prefix) or as a
``DatasetVersion`` is resolved in the workspace's catalogue. Unknown names
and versions raise ``NotFound`` with the versions that do exist.

**Current** versions are read from their stored object (only the requested
columns when ``columns`` is given).

**Reference** versions are read from the profile stored with the version
(``datasets.profile``) wherever that gives the same numbers as the data:

* categorical and boolean columns: the profile's category counts, so chi2,
  Jensen-Shannon, PSI, KL, Hellinger and z are *exact* (unless the column has
  more than ``profile.MAX_CATEGORIES`` categories, where the rest is folded);
* numeric columns with few distinct values (the ones drift treats as
  categorical): their exact value counts, so the count tests are exact;
* numeric and datetime columns of at most ``profile.SKETCH_EXACT_MAX``
  values: the sketch *is* the sorted values, so every test is exact.

What the profile cannot answer exactly is a numeric/datetime column with more
values, under KS, Wasserstein or a binned test (PSI etc. cut at reference
quantiles need the reference's counts per bin). ``reference_mode`` decides:

* ``"exact"`` (default): read just those columns from the stored Parquet
  object (a column subset, not the whole table). Results equal
  ``drift(reference_df, current_df)``; the report's
  ``options["reference_columns_read"]`` names the columns read.
* ``"sketch"``: never read the reference. The sketch (values at 1,001 evenly
  spaced quantile levels) is read as a piecewise-linear quantile function
  (``stats.sketch_cdf``): KS is its supremum distance to the current ECDF,
  with the p-value for the real sample size; Wasserstein integrates the gap
  between the quantile functions; binned tests cut edges at the sketch's
  quantiles (exact when ``bins`` divides 1000) and estimate the reference's
  counts per bin. The error is that of linear interpolation between
  neighbouring quantiles: measured on 100k-row normal, exponential and
  zero-inflated columns, KS, PSI and Jensen-Shannon within about 1.5e-4 of
  the exact values and the normed Wasserstein within about 1.5e-3 (its tails
  carry the error) — far below the 0.1 threshold, but not equal. Rows computed this way carry
  ``approximate=True``; so do categorical rows whose rare categories the
  profile folded into one.

Forced kinds that differ from the profile's kind, and text columns a forced
test wants treated as categories, always read the column: the profile holds
no values for them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput, NotFound
from . import columns as C
from . import stats as S
from .arguments import Job, check_arguments, plan_jobs, sample_rows
from .report import DriftReport

REFERENCE_MODES = ("exact", "sketch")


@dataclass
class Side:
    """One side of a check: a DataFrame, or a dataset version (and later its frame)."""

    role: str
    label: str
    frame: pd.DataFrame | None = None
    version: Any = None  # datasets.DatasetVersion
    deployment: str | None = None  # "deployment:<name>" for a prediction-log window
    window: str | None = None

    @property
    def dataset(self) -> str | None:
        if self.deployment is not None:
            return self.deployment
        return self.version.name if self.version is not None else None

    @property
    def recorded(self) -> bool:
        """Checks on stored data (a version, a deployment's log) go to the history."""
        return self.version is not None or self.deployment is not None

    def provenance(self) -> dict[str, Any]:
        version = self.version.version if self.version is not None else self.window
        return {
            self.role: self.label,
            f"{self.role}_dataset": self.dataset,
            f"{self.role}_version": version,
        }


def parse_ref(text: str, role: str = "reference") -> tuple[str, str]:
    """``"name@version"`` → ``(name, version)``; ``"name"`` → ``(name, "latest")``."""
    from ..datasets import validate_name

    name, _, version = text.strip().partition("@")
    if not name:
        raise InvalidInput(f"{role}: {text!r} is not a dataset reference; "
                           "write 'name@version' or 'name' for the latest version.")
    validate_name(name)
    return name, version.strip() or "latest"


def resolve_side(value: Any, role: str, workspace: Any) -> Side:
    """A DataFrame as is; a reference string or DatasetVersion looked up in the catalogue."""
    if isinstance(value, pd.DataFrame):
        return Side(role, "DataFrame", frame=value)
    from .deployment_side import deployment_side, is_deployment_ref

    if is_deployment_ref(value):
        frame, label, window = deployment_side(value, role, workspace)
        return Side(role, label, frame=frame, deployment=label.partition("@")[0], window=window)
    from ..datasets import DatasetVersion, get_version

    if isinstance(value, DatasetVersion):
        version = value
    elif isinstance(value, str):
        name, ref = parse_ref(value, role)
        version = get_version(name, ref, workspace)
    else:
        raise InvalidInput(f"{role} must be a pandas DataFrame, a dataset version "
                           "('name@version') or a deployment's prediction log "
                           f"('deployment:name@1h'), got {type(value).__name__}")
    if version.kind == "folder":
        raise InvalidInput(f"{role}: {version.name}@{version.short} is a folder; drift "
                           "compares tables (a DataFrame snapshot or a CSV/Parquet/JSON file).")
    return Side(role, f"{version.name}@{version.short}", version=version)


def read_frame(version: Any, workspace: Any, columns: Sequence[str] | None = None
               ) -> pd.DataFrame:
    """A table version's data (only ``columns`` when given) from its stored object."""
    from ..datasets.access import read_table_file
    from ..datasets.objects import store_for

    store = store_for(workspace)
    if not store.exists(version.version):
        raise NotFound(f"The object of {version.name}@{version.short} is missing from "
                       f"{store.url}; snapshot the data again.")
    path = store.local_path(version.version)
    suffix = Path(version.source or "").suffix.lower() if version.kind == "file" else ".parquet"
    if suffix in (".parquet", ".pq", ""):
        try:
            return pd.read_parquet(path, columns=list(columns) if columns is not None else None)
        except Exception:  # noqa: BLE001 - odd column names: read all, subset below
            frame = read_table_file(path, suffix)
    else:
        frame = read_table_file(path, suffix)
    if columns is None:
        return frame
    return frame[[c for c in frame.columns if str(c) in set(map(str, columns))]]


def _requested(columns: Sequence[Hashable] | None, version: Any) -> list[str] | None:
    """The requested columns this version has (None: all of them)."""
    if columns is None or not version.schema:
        return None
    have = {c["name"] for c in version.schema}
    return [str(c) for c in columns if str(c) in have]


# ------------------------------------------------------------------ the check


def compare_sources(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[Hashable] | None = None,
    column_kinds: Mapping[Hashable, str] | None = None,
    tests: str | Mapping[Hashable, str] | None = None,
    thresholds: Mapping[Hashable, float] | None = None,
    drift_share: float = 0.5,
    sample: int | None = None,
    bins: int = 10,
    random_state: int = 0,
    reference_mode: str = "exact",
    record: bool | None = None,
    workspace: Any = None,
    origin: str = "python",
    actor: str | None = None,
) -> DriftReport:
    """``drift()`` for any pair of sides; records the check when asked (see ``engine``)."""
    from ..datasets.runtime import resolve_workspace
    from .engine import compare_frames

    if reference_mode not in REFERENCE_MODES:
        raise InvalidInput(f"reference_mode must be one of {', '.join(REFERENCE_MODES)}, "
                           f"got {reference_mode!r}")
    frames_only = isinstance(reference, pd.DataFrame) and isinstance(current, pd.DataFrame)
    ws = None if frames_only and not record else resolve_workspace(workspace)
    ref = resolve_side(reference, "reference", ws)
    cur = resolve_side(current, "current", ws)
    if cur.frame is None:
        cur.frame = read_frame(cur.version, ws, _requested(columns, cur.version))
    args = dict(columns=columns, column_kinds=column_kinds, tests=tests, thresholds=thresholds,
                drift_share=drift_share, sample=sample, bins=bins, random_state=random_state)
    if ref.frame is not None:
        report = compare_frames(ref.frame, cur.frame, **args)
    else:
        report = compare_profiled(ref.version, cur.frame, ws, reference_mode, **args)
    report.options.update(ref.provenance())
    report.options.update(cur.provenance())
    report.options["reference_mode"] = reference_mode if ref.version is not None else None
    if record or (record is None and (ref.recorded or cur.recorded)):
        from .history import record_check

        check = record_check(report, workspace=ws, origin=origin, actor=actor)
        report.options["check_id"] = check.id
    return report


def compare_profiled(
    version: Any,
    current: pd.DataFrame,
    workspace: Any,
    reference_mode: str,
    *,
    columns: Sequence[Hashable] | None,
    column_kinds: Mapping[Hashable, str] | None,
    tests: str | Mapping[Hashable, str] | None,
    thresholds: Mapping[Hashable, float] | None,
    drift_share: float,
    sample: int | None,
    bins: int,
    random_state: int,
) -> DriftReport:
    """A reference version (from its profile, plus the columns it cannot answer) vs a frame."""
    from ..datasets import profile_version
    from .engine import report_options, run_jobs

    profile = version.profile
    if profile is None:  # files are profiled on first use, then the profile is kept
        profile = profile_version(version.name, version.version, workspace)
    entries = {str(c["name"]): c for c in profile.get("columns", [])}
    # a frame with the reference's columns and no rows: argument checks and the plan only
    stub = pd.DataFrame({name: pd.Series([], dtype=object) for name in entries})
    check_arguments(stub, current, bins, drift_share, sample)
    if sample is not None:
        current = sample_rows(current, int(sample), random_state + 1)
    jobs = plan_jobs(stub, current, columns, column_kinds, tests, thresholds, int(bins))
    raw: list[Job] = []
    for job in jobs:
        entry = entries.get(str(job.name))
        if entry is None:
            continue  # not in the reference: plan_jobs left job.reference None
        if profile_lacks(entry, job) or (reference_mode == "exact" and profile_inexact(entry, job)):
            raw.append(job)
        else:
            job.profile, job.reference = entry, None
    reference_rows = int(profile.get("rows") or 0)
    if raw:
        frame = read_frame(version, workspace, [str(job.name) for job in raw])
        if sample is not None:
            frame = sample_rows(frame, int(sample), random_state)
        for job in raw:
            job.reference = frame[str(job.name)] if str(job.name) in frame.columns else None
    results = run_jobs(jobs, (reference_rows if raw else 0) * len(raw) + len(current) * len(jobs))
    options = report_options(bins, sample, random_state, reference_rows, len(current), thresholds)
    options["reference_columns_read"] = [str(job.name) for job in raw]
    return DriftReport(columns=results, drift_share=float(drift_share), options=options)


def profile_lacks(entry: dict[str, Any], job: Job) -> bool:
    """The profile holds nothing to test this column with, in any mode."""
    kind = entry.get("kind")
    if job.kind is not None and job.kind != kind:
        return True  # forced kind: the conversion needs the values
    # a declared pandas category with many labels is tested by drift (never treated as
    # text), and a forced test overrides the text rule: both need the labels' counts
    return kind == C.TEXT and (entry.get("dtype") == "category" or job.test is not None)


def profile_inexact(entry: dict[str, Any], job: Job) -> bool:
    """The profile can answer this column only approximately (from its sketch)."""
    from .engine import LOW_CARDINALITY, _default_test

    kind = entry.get("kind")
    categories = entry.get("categories") or {}
    if kind in (C.CATEGORICAL, C.BOOLEAN):
        return bool(categories.get("truncated") or categories.get("other"))
    if kind not in (C.NUMERIC, C.DATETIME):
        return False
    sketch = entry.get("sketch")
    if sketch is None or sketch.get("exact"):
        return False
    low = int(entry.get("distinct") or 0) <= LOW_CARDINALITY and bool(categories) \
        and not categories.get("truncated")
    test = job.test or _default_test(int(sketch["n"]), low)
    return not (low and test not in S.SORTED_TESTS)


# ------------------------------------------------------- profile → engine sides


def numeric_reference(entry: dict[str, Any]) -> C.NumericSide:
    """The reference side of a numeric/datetime column from its profile entry."""
    sketch = entry.get("sketch")
    values = np.asarray(sketch["values"] if sketch else [], dtype=np.float64)
    missing = int(entry.get("missing") or 0)
    n_rows = int(entry.get("count") or 0) + missing
    categories = entry.get("categories")
    distinct = None
    if categories and not categories.get("truncated"):
        labels = np.asarray(categories["values"], dtype=np.float64)
        counts = np.asarray(categories["counts"], dtype=np.int64)
        order = np.argsort(labels, kind="stable")
        distinct = (labels[order], counts[order])
    side = C.NumericSide(values, n_rows, missing, int(entry.get("n_inf") or 0), distinct=distinct)
    if sketch and not sketch.get("exact"):
        n = int(sketch["n"])
        std = entry.get("std")
        side.approx_n = n
        side.std = None if std is None else float(std) * math.sqrt((n - 1) / n)
        side.known_distinct = entry.get("distinct")
    return side


#: label of the categories a profile folded away (more than MAX_CATEGORIES of them)
OTHER_LABEL = "(other reference categories)"


def categorical_reference(entry: dict[str, Any]) -> tuple[C.CategoricalSide, bool]:
    """The reference side of a categorical/boolean column; True when categories were folded."""
    categories = entry.get("categories") or {}
    values = list(categories.get("values") or [])
    counts = list(categories.get("counts") or [])
    folded = int(categories.get("other") or 0)
    if folded:
        values.append(OTHER_LABEL)
        counts.append(folded)
    labels = np.empty(len(values), dtype=object)
    labels[:] = values
    missing = int(entry.get("missing") or 0)
    side = C.CategoricalSide(labels, np.asarray(counts, dtype=np.int64),
                             int(entry.get("count") or 0) + missing, missing)
    return side, bool(folded)
