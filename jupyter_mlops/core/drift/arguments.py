"""Validation of ``drift()``'s arguments and the per-column work plan.

Kept apart from the statistics so the rules for keys (column vs test names,
see ``engine``'s docstring) live in one place and fail loudly: a typo in a
column or test name raises ``InvalidInput`` (which every surface already
maps) instead of silently using a default.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from . import columns as C
from . import stats as S


@dataclass
class Job:
    """Everything one column's analysis needs; independent of every other column."""

    name: Hashable
    reference: pd.Series | None
    current: pd.Series | None
    kind: str | None = None  # forced
    test: str | None = None  # forced
    threshold: float | None = None  # per column
    bins: int = 10
    test_thresholds: dict[str, float] = field(default_factory=dict)
    #: the reference column's entry of a stored dataset profile, used instead of
    #: ``reference`` (see ``sources``)
    profile: dict[str, Any] | None = None


def check_arguments(
    reference: object, current: object, bins: object, drift_share: float, sample: object
) -> None:
    for label, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput(f"{label} must be a pandas DataFrame, got {type(frame).__name__}")
    if not isinstance(bins, (int, np.integer)) or bins < 2:
        raise InvalidInput(f"bins must be an integer >= 2, got {bins!r}")
    if not 0 < drift_share <= 1:
        raise InvalidInput(f"drift_share must be in (0, 1], got {drift_share!r}")
    if sample is not None and (not isinstance(sample, (int, np.integer)) or sample < 1):
        raise InvalidInput(f"sample must be a positive integer, got {sample!r}")


def plan_jobs(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[Hashable] | None,
    column_kinds: Mapping[Hashable, str] | None,
    tests: str | Mapping[Hashable, str] | None,
    thresholds: Mapping[Hashable, float] | None,
    bins: int,
) -> list[Job]:
    """One job per selected column, with its forced kind/test and resolved thresholds."""
    names = _column_names(reference, current, columns)
    known = set(map(str, reference.columns)) | set(map(str, current.columns))
    kinds = _per_column(column_kinds, known, "column_kinds", C.KINDS)
    per_test, per_column = _split_thresholds(thresholds or {}, known)
    if isinstance(tests, str):
        _check_test(tests)
        forced_tests = {str(n): tests for n in names}
    else:
        forced_tests = _per_column(tests, known, "tests", S.TEST_NAMES)
    test_thresholds = {**S.DEFAULT_THRESHOLDS, **per_test}
    return [
        Job(
            name=name,
            reference=_get(reference, name),
            current=_get(current, name),
            kind=kinds.get(str(name)),
            test=forced_tests.get(str(name)),
            threshold=per_column.get(str(name)),
            bins=bins,
            test_thresholds=test_thresholds,
        )
        for name in names
    ]


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows drawn without replacement, kept in their original order."""
    if len(frame) <= n:
        return frame
    rows = np.random.default_rng(seed).choice(len(frame), size=n, replace=False)
    return frame.take(np.sort(rows))


def _column_names(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[Hashable] | None
) -> list[Hashable]:
    if columns is None:
        ref_names = list(dict.fromkeys(reference.columns))
        seen = set(ref_names)
        return ref_names + [c for c in dict.fromkeys(current.columns) if c not in seen]
    missing = [c for c in columns if c not in reference.columns and c not in current.columns]
    if missing:
        raise InvalidInput(f"columns not in either frame: {missing}")
    return list(dict.fromkeys(columns))


def _get(frame: pd.DataFrame, name: Hashable) -> pd.Series | pd.DataFrame | None:
    return frame[name] if name in frame.columns else None


def _check_test(name: object) -> None:
    if name not in S.TEST_NAMES:
        raise InvalidInput(f"unknown drift test {name!r}; choose from {', '.join(S.TEST_NAMES)}")


def _per_column(
    mapping: Mapping[Hashable, str] | None, known: set[str], what: str, allowed: Sequence[str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (mapping or {}).items():
        if str(key) not in known:
            raise InvalidInput(f"{what}: {key!r} is not a column of either frame")
        if value not in allowed:
            raise InvalidInput(f"{what}[{key!r}] = {value!r}; choose from {', '.join(allowed)}")
        out[str(key)] = value
    return out


def _split_thresholds(
    thresholds: Mapping[Hashable, float], known: set[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Resolve ``thresholds`` keys into per-test and per-column values (see module doc)."""
    per_test: dict[str, float] = {}
    per_column: dict[str, float] = {}
    for raw_key, raw_value in thresholds.items():
        try:
            value = float(raw_value)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            raise InvalidInput(f"threshold for {raw_key!r} must be a finite number >= 0")
        key = str(raw_key)
        if key.startswith("test:"):
            _check_test(key[5:])
            per_test[key[5:]] = value
        elif key.startswith("column:"):
            if key[7:] not in known:
                raise InvalidInput(f"thresholds: {key[7:]!r} is not a column of either frame")
            per_column[key[7:]] = value
        elif key in known and key in S.TEST_NAMES:
            raise InvalidInput(
                f"threshold key {key!r} is both a column and a test name; "
                f"write 'test:{key}' or 'column:{key}'"
            )
        elif key in known:
            per_column[key] = value
        elif key in S.TEST_NAMES:
            per_test[key] = value
        else:
            raise InvalidInput(f"threshold key {key!r} is neither a column nor a test name")
    return per_test, per_column
