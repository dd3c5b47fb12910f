"""Awkward data never raises: each such column gets a row that says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.core.drift import drift

N = 200


def test_frames_without_rows_or_columns() -> None:
    nothing = drift(pd.DataFrame(), pd.DataFrame())
    assert nothing.columns == [] and nothing.share is None and nothing.drifted is False
    assert list(nothing.to_frame().columns)[:3] == ["column", "kind", "test"]

    empty_ref = pd.DataFrame({"x": pd.Series([], dtype=float), "s": pd.Series([], dtype=str)})
    full_cur = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]})
    report = drift(empty_ref, full_cur)
    for name in ("x", "s"):
        assert report[name].drifted is None
        assert report[name].reason == "no rows in reference"
    assert report["x"].nan_share_current == 0.0 and report.share is None

    assert drift(full_cur, full_cur.iloc[:0])["x"].reason == "no rows in current"


def test_all_missing_columns() -> None:
    ref = pd.DataFrame(
        {"f": [np.nan] * N, "o": [None] * N, "t": pd.NaT, "half": [1.0, np.nan] * (N // 2)}
    )
    cur = pd.DataFrame(
        {"f": np.arange(N, dtype=float), "o": [None] * N, "t": pd.NaT, "half": np.nan}
    )
    report = drift(ref, cur)
    assert report["f"].reason == "no valid values in reference"
    assert report["f"].nan_share_reference == 1.0 and report["f"].nan_share_current == 0.0
    assert report["o"].reason == "no valid values in reference"
    assert report["t"].kind == "datetime" and report["t"].drifted is None
    assert report["half"].reason == "no valid values in current"
    assert report["half"].nan_share_reference == 0.5
    assert all(c.drifted is None for c in report.columns)


def test_constant_columns() -> None:
    ref = pd.DataFrame({"n": [3.0] * N, "c": ["x"] * N, "b": [True] * N, "grows": [1.0] * N})
    cur = ref.copy()
    cur["grows"] = [1.0] * 150 + [2.0] * 50
    report = drift(ref, cur)
    for name in ("n", "c", "b"):
        column = report[name]
        assert column.drifted is False and column.reason == "constant", name
        assert column.statistic == 0.0 and column.p_value == 1.0  # chi2: not NaN (Evidently #1929)
    assert report["grows"].drifted is True and report["grows"].reason == "constant in reference"
    assert report["grows"].unseen_categories == ["2"]
    large = drift(pd.concat([ref] * 10), pd.concat([ref] * 10))["n"]
    assert large.test == "jensen_shannon" and large.drifted is False and large.statistic == 0.0


def test_columns_on_one_side_only() -> None:
    ref = pd.DataFrame({"both": range(N), "gone": range(N)})
    cur = pd.DataFrame({"both": range(N), "new": ["a"] * N})
    report = drift(ref, cur)
    assert [c.name for c in report.columns] == ["both", "gone", "new"]
    assert report["gone"].reason == "missing in current" and report["gone"].drifted is None
    assert report["new"].reason == "missing in reference" and report["new"].kind == "categorical"
    assert report.n_evaluated == 1


def test_mismatched_kinds() -> None:
    ref = pd.DataFrame({"x": np.arange(N, dtype=float), "when": pd.date_range("2024", periods=N)})
    cur = pd.DataFrame({"x": [f"v{i}" for i in range(N)], "when": np.arange(N)})
    report = drift(ref, cur)
    assert report["x"].drifted is None
    assert report["x"].reason == "dtype mismatch: numeric in reference, categorical in current"
    assert report["when"].reason == "dtype mismatch: datetime in reference, numeric in current"
    codes = pd.DataFrame({"x": [0.0, 1.0] * (N // 2)})
    letters = pd.DataFrame({"x": ["a", "b"] * (N // 2)})
    forced = drift(codes, letters, column_kinds={"x": "categorical"})["x"]
    assert forced.drifted is True and forced.unseen_categories == ["a", "b"]


def test_infinite_values_are_dropped_and_reported() -> None:
    values = np.random.default_rng(0).normal(size=N)
    ref = pd.DataFrame({"x": np.r_[values, [np.inf, -np.inf, np.nan]]})
    cur = pd.DataFrame({"x": np.r_[values, [np.inf] * 5]})
    column = drift(ref, cur)["x"]
    assert column.drifted is False and column.statistic == 0.0
    assert (column.inf_reference, column.inf_current) == (2, 5)
    assert (column.n_reference, column.n_current) == (N, N)
    assert column.nan_share_reference == pytest.approx(1 / (N + 3))
    assert column.reason == "infinite values dropped: 2 in reference, 5 in current"
    only_inf = drift(pd.DataFrame({"x": [np.inf] * 3}), pd.DataFrame({"x": [1.0]}))["x"]
    assert only_inf.drifted is None and "no valid values in reference" in only_inf.reason


def test_pandas_nullable_and_special_dtypes() -> None:
    rng = np.random.default_rng(1)
    ints = rng.integers(0, 100, N)
    ref = pd.DataFrame(
        {
            "Int64": pd.array(np.where(ints % 10 == 0, None, ints), dtype="Int64"),
            "Float64": pd.array(rng.normal(size=N), dtype="Float64"),
            "boolean": pd.array([True, False, None, True] * (N // 4), dtype="boolean"),
            "string": pd.array(["a", "b", None, "c"] * (N // 4), dtype="string"),
            "category": pd.Categorical(["u", "v", "w", None] * (N // 4)),
            "object_bool": [True, False, None, True] * (N // 4),
            "object_num": [1, 2.5, None, 4] * (N // 4),
            "timedelta": pd.to_timedelta(rng.integers(0, 1000, N), unit="s"),
        }
    )
    report = drift(ref, ref.copy())
    kinds = {c.name: c.kind for c in report.columns}
    assert kinds == {
        "Int64": "numeric",
        "Float64": "numeric",
        "boolean": "boolean",
        "string": "categorical",
        "category": "categorical",
        "object_bool": "boolean",
        "object_num": "numeric",
        "timedelta": "numeric",
    }
    assert all(c.drifted is False for c in report.columns), report.to_frame()
    assert report["Int64"].nan_share_reference == pytest.approx(np.mean(ints % 10 == 0))
    assert report["boolean"].nan_share_reference == 0.25
    assert report["category"].nan_share_reference == 0.25

    shifted = ref.copy()
    shifted["category"] = pd.Categorical(["u", "v", "z", None] * (N // 4))
    shifted["string"] = pd.array(["a", "b", None, "d"] * (N // 4), dtype="string")
    report = drift(ref, shifted)
    assert report["category"].unseen_categories == ["z"] and report["category"].drifted is True
    assert report["string"].unseen_categories == ["d"] and report["string"].drifted is True


def test_datetimes_with_timezones_compare_instants() -> None:
    utc = pd.date_range("2024-01-01", periods=N, freq="h", tz="UTC")
    ref = pd.DataFrame({"t": utc})
    same_instants = pd.DataFrame({"t": utc.tz_convert("America/New_York")})
    naive_utc = pd.DataFrame({"t": utc.tz_localize(None).as_unit("ns")})
    later = pd.DataFrame({"t": utc + pd.Timedelta(days=3)})
    for cur in (same_instants, naive_utc):
        column = drift(ref, cur)["t"]
        assert column.kind == "datetime" and column.statistic == 0.0 and column.drifted is False
    assert drift(ref, later)["t"].drifted is True


def test_text_columns_are_skipped() -> None:
    text = pd.DataFrame({"comment": [f"free text number {i}" for i in range(N)]})
    column = drift(text, text)["comment"]
    assert column.kind == "text" and column.drifted is None and "text" in column.reason
    as_category = drift(text.astype("category"), text.astype("category"))["comment"]
    assert as_category.kind == "categorical" and as_category.drifted is False
    forced = drift(text, text, tests={"comment": "jensen_shannon"})["comment"]
    assert forced.drifted is False  # an explicit test is honoured


def test_unsupported_and_duplicate_columns() -> None:
    ref = pd.DataFrame({"z": np.arange(N) * 1j, "p": pd.period_range("2024", periods=N, freq="D")})
    report = drift(ref, ref)
    assert report["z"].reason.startswith("unsupported dtype")
    assert report["p"].drifted is None and report["p"].reason
    dup = pd.DataFrame([[1, 2]] * 10, columns=["a", "a"])
    assert drift(dup, dup)["a"].reason == "duplicate column name in reference"


def test_one_category_against_several() -> None:
    ref = pd.DataFrame({"c": ["only"] * N})
    cur = pd.DataFrame({"c": ["only", "other"] * (N // 2)})
    column = drift(ref, cur)["c"]
    assert column.drifted is True and column.reason == "constant in reference"
    assert np.isfinite(column.statistic) and column.unseen_categories == ["other"]
