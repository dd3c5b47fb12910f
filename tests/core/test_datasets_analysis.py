"""Profiles (the drift reference), diffs between versions, and validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.datasets.profile import (
    SKETCH_POINTS,
    column_profile,
    profile_frame,
)
from jupyter_mlops.core.errors import InvalidInput
from jupyter_mlops.core.workspace import Workspace


# -- profile ---------------------------------------------------------------------------------
def test_numeric_profile_matches_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(5, 2, 5000)
    x[:100] = np.nan
    x[100:103] = np.inf
    prof = profile_frame(pd.DataFrame({"x": x}))
    col = column_profile(prof, "x")
    finite = x[np.isfinite(x)]
    assert col["kind"] == "numeric" and col["missing"] == 100 and col["n_inf"] == 3
    assert col["null_share"] == pytest.approx(100 / 5000)
    assert col["min"] == finite.min() and col["max"] == finite.max()
    assert col["mean"] == pytest.approx(finite.mean()) and col["std"] == pytest.approx(finite.std(ddof=1))
    levels = col["quantiles"]["levels"]
    assert levels == [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]
    np.testing.assert_allclose(col["quantiles"]["values"], np.quantile(finite, levels))
    counts, edges = np.histogram(finite, bins=20)
    assert col["histogram"]["counts"] == counts.tolist()
    np.testing.assert_allclose(col["histogram"]["edges"], edges)
    sketch = col["sketch"]
    assert not sketch["exact"] and sketch["n"] == finite.size
    assert len(sketch["values"]) == SKETCH_POINTS
    np.testing.assert_allclose(sketch["values"], np.quantile(finite, np.linspace(0, 1, SKETCH_POINTS)))
    assert "categories" not in col
    json.dumps(prof, allow_nan=False)  # strict JSON: PostgreSQL rejects NaN


def test_small_and_discrete_columns_keep_exact_values():
    df = pd.DataFrame({"k": [3, 1, 2, 2, 3, 3], "f": [0.5, 0.5, 1.5, np.nan, 2.0, 2.0]})
    k = column_profile(profile_frame(df), "k")
    assert k["sketch"] == {"exact": True, "n": 6, "values": [1.0, 2.0, 2.0, 3.0, 3.0, 3.0]}
    assert k["categories"]["values"] == [3, 2, 1] and k["categories"]["counts"] == [3, 2, 1]
    assert k["min"] == 1 and isinstance(k["min"], int)
    assert k["histogram"]["counts"] == [1, 2, 3]  # one bin per integer
    f = column_profile(profile_frame(df), "f")
    assert f["distinct"] == 3 and f["missing"] == 1


def test_categorical_boolean_datetime_and_odd_columns():
    n = 300
    df = pd.DataFrame({
        "cat": pd.Series(["a"] * 200 + ["b"] * 90 + [None] * 10, dtype="str"),
        "flag": [True, False, True] * 100,
        "when": pd.date_range("2024-03-01", periods=n, freq="D", tz="Europe/Berlin"),
        "text": [f"free text {i}" for i in range(n)],
        "empty": [np.nan] * n,
        "lists": [[1]] * n,
    })
    prof = profile_frame(df)
    cat = column_profile(prof, "cat")
    assert cat["kind"] == "categorical" and cat["missing"] == 10 and cat["distinct"] == 2
    assert cat["top"] == [{"value": "a", "count": 200}, {"value": "b", "count": 90}]
    assert cat["categories"]["values"] == ["a", "b"]
    flag = column_profile(prof, "flag")
    assert flag["kind"] == "boolean" and flag["mean"] == pytest.approx(2 / 3)
    when = column_profile(prof, "when")
    assert when["kind"] == "datetime" and when["unit"] == "ns_since_epoch"
    assert when["min"] == pd.Timestamp("2024-03-01", tz="Europe/Berlin").value
    assert when["min_iso"].startswith("2024-02-29T23:00")
    text = column_profile(prof, "text")
    assert text["kind"] == "text" and "categories" not in text and len(text["top"]) == 20
    assert column_profile(prof, "empty")["kind"] == "empty"
    assert column_profile(prof, "lists")["kind"] == "unsupported"
    json.dumps(prof, allow_nan=False)


def test_empty_frame_profiles():
    prof = profile_frame(pd.DataFrame({"a": pd.Series([], dtype="float64")}))
    assert prof["rows"] == 0 and column_profile(prof, "a")["null_share"] is None


# -- diff ------------------------------------------------------------------------------------
def test_diff_schema_rows_and_column_deltas(ws):
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(0, 1, 500), "c": rng.choice(["u", "v"], 500),
                      "gone": 1})
    b = pd.DataFrame({"x": rng.normal(2, 1, 600), "c": rng.choice(["u", "w"], 600),
                      "new": 1.0})
    b["x"] = b["x"].astype("float32")
    va = D.snapshot(a, "d", workspace=ws)
    vb = D.snapshot(b, "d", workspace=ws)
    d = D.diff("d", workspace=ws)  # a defaults to the version before latest
    assert (d.a, d.b) == (va.version, vb.version) and not d.identical
    assert d.rows == {"a": 500, "b": 600, "delta": 100}
    assert d.added_columns == [{"name": "new", "dtype": "float64"}]
    assert d.removed_columns == [{"name": "gone", "dtype": "int64"}]
    assert d.retyped_columns == [{"name": "x", "from": "float64", "to": "float32"}]
    cols = {c["name"]: c for c in d.columns}
    assert cols["x"]["mean_shift_std"] == pytest.approx(2, abs=0.3) and cols["x"]["changed"]
    assert cols["c"]["new_categories"] == ["w"] and cols["c"]["missing_categories"] == ["v"]
    assert 0.3 < cols["c"]["category_tvd"] <= 1
    assert "rows +100" in d.summary() and "retyped columns: x" in d.summary()
    json.dumps(d.to_dict(), allow_nan=False)
    assert D.diff("d", va.version, va.version, workspace=ws).identical
    with pytest.raises(InvalidInput, match="no version before"):
        D.diff("d", None, va.version, workspace=ws)


# -- validation ------------------------------------------------------------------------------
SPEC = {
    "columns": {
        "age": {"type": "integer", "nullable": False, "min": 0, "max": 120},
        "country": {"type": "string", "allowed": ["DE", "FR"]},
        "id": {"unique": True},
        "code": {"pattern": r"[A-Z]{3}"},
        "when": {"type": "datetime", "min": "2024-01-01"},
        "absent": {"type": "float"},
    },
    "allow_extra_columns": False,
    "min_rows": 10,
}


def bad_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [10, -1, 130, None, 40, 150.5],
        "country": ["DE", "FR", "US", "UK", None, "DE"],
        "id": [1, 2, 2, 3, 3, 3],
        "code": ["ABC", "abc", "XYZ", "TOOLONG", "DEF", "GHI"],
        "when": pd.to_datetime(["2024-02-01", "2023-06-01", "2024-03-01", "2024-04-01",
                                "2024-05-01", "2024-06-01"]),
        "extra": 0,
    })


def test_validation_report_counts_and_examples():
    report = D.validate(bad_frame(), SPEC)
    assert not report.passed and report.rows == 6
    found = {(f.column, f.check): f for f in report.failures}
    assert found[("age", "type")].count == 1 and found[("age", "type")].examples == [150.5]
    assert found[("age", "nullable")].examples == [3]  # row labels of the missing values
    assert found[("age", "min")].examples == [-1] and found[("age", "max")].count == 2
    assert found[("country", "allowed")].count == 2
    assert set(found[("country", "allowed")].examples) == {"US", "UK"}
    assert found[("id", "unique")].count == 5 and found[("id", "unique")].examples == [2, 3]
    assert found[("code", "pattern")].examples == ["abc", "TOOLONG"]
    assert found[("when", "min")].count == 1
    assert found[("absent", "present")].message == "column 'absent' is missing"
    assert found[(None, "extra_columns")].examples == ["extra"]
    assert found[(None, "min_rows")].count == 6
    json.dumps(report.to_dict(), allow_nan=False)
    with pytest.raises(D.ExpectationsFailed, match="expectation\\(s\\) failed") as err:
        report.raise_for_failures()
    assert err.value.details["passed"] is False


def test_many_examples_are_capped():
    df = pd.DataFrame({"v": range(100)})
    report = D.validate(df, {"columns": {"v": {"max": 10}}})
    assert report.failures[0].count == 89 and len(report.failures[0].examples) == 5


def test_stored_expectations_gate_and_suggestions(ws):
    good = pd.DataFrame({"age": [1, 2, 3], "country": ["DE", "FR", "DE"]})
    D.snapshot(good, "people", workspace=ws)
    with pytest.raises(InvalidInput, match="no expectations yet"):
        D.validate(good, "people", workspace=ws)
    suggested = D.suggest_expectations("people", workspace=ws)
    assert suggested["columns"]["country"]["allowed"] == ["DE", "FR"]
    D.set_expectations("people", suggested, workspace=ws)
    assert D.get_expectations("people", workspace=ws) == suggested
    assert D.validate(good, "people", workspace=ws, raise_on_failure=True).passed
    assert D.validate(D.get_version("people", workspace=ws), "people", workspace=ws).passed
    with pytest.raises(D.ExpectationsFailed, match="(?s)'people'.*outside the allowed"):
        D.validate(good.assign(country="US"), "people", workspace=ws, raise_on_failure=True)
    assert D.list_datasets(workspace=ws)[0].has_expectations


@pytest.mark.parametrize("spec, message", [
    ({"colums": {}}, "Unknown expectation keys"),
    ({"columns": {"a": {"typ": "integer"}}}, "Unknown expectation keys.*'a'"),
    ({"columns": {"a": {"type": "int"}}}, "not one of"),
    ({"columns": {"a": {"pattern": "("}}}, "bad pattern"),
    ({"columns": {"a": {"allowed": "DE"}}}, "must be a list"),
    ({"min_rows": -1}, "non-negative"),
    ("nope", "must be a dict"),
])
def test_bad_expectations_are_rejected(ws, spec, message):
    with pytest.raises(InvalidInput, match=message):
        D.set_expectations("x", spec, workspace=ws)


def test_validate_rejects_unsupported_data():
    with pytest.raises(TypeError, match="DataFrame"):
        D.validate([1, 2], {"columns": {}})
