"""drift(): test choice, verdicts, thresholds, bins, sampling, threading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jupyter_mlops.core.drift import TEST_NAMES, ColumnDrift, DriftReport, drift, engine
from jupyter_mlops.core.errors import InvalidInput


def _frames(n: int, shift: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array(["red", "green", "blue", "white"])

    def frame(offset: float, probs: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "num": rng.normal(offset, 1.0, n),
                "cat": levels[rng.choice(4, n, p=probs)],
                "flag": rng.random(n) < 0.3 + offset / 4,
                "small_int": rng.integers(0, 4, n),
            }
        )

    uniform = [0.25] * 4
    return frame(0.0, uniform), frame(shift, [0.1, 0.2, 0.3, 0.4] if shift else uniform)


def test_default_tests_follow_reference_size_and_cardinality() -> None:
    small = drift(*_frames(500))
    assert [small[c].test for c in ("num", "cat", "flag", "small_int")] == [
        "ks", "chi2", "chi2", "chi2"
    ]
    large = drift(*_frames(5000))
    assert [large[c].test for c in ("num", "cat", "flag", "small_int")] == [
        "wasserstein", "jensen_shannon", "jensen_shannon", "jensen_shannon"
    ]
    assert [large[c].kind for c in ("num", "cat", "flag", "small_int")] == [
        "numeric", "categorical", "boolean", "numeric"
    ]


@pytest.mark.parametrize("n", [500, 5000])
def test_shift_is_detected_and_same_distribution_is_not(n: int) -> None:
    same = drift(*_frames(n, shift=0.0, seed=1))
    assert [c.drifted for c in same.columns] == [False] * 4
    assert not same.drifted and same.share == 0.0

    shifted = drift(*_frames(n, shift=1.0, seed=1))
    assert shifted["num"].drifted and shifted["cat"].drifted and shifted["flag"].drifted
    assert shifted["small_int"].drifted is False
    assert shifted.n_drifted == 3 and shifted.share == pytest.approx(0.75) and shifted.drifted


def test_statistics_in_the_report_are_scipys() -> None:
    ref, cur = _frames(800, shift=0.2, seed=3)
    report = drift(ref, cur, tests={"cat": "jensen_shannon"})
    expected = stats.ks_2samp(ref["num"], cur["num"])  # scipy's 'auto' is exact here
    assert report["num"].statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert report["num"].p_value == pytest.approx(expected.pvalue, rel=1e-9)
    table = pd.crosstab(np.r_[np.zeros(800), np.ones(800)], np.r_[ref["flag"], cur["flag"]])
    chi = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert report["flag"].statistic == pytest.approx(chi.statistic, rel=1e-9)
    assert report["flag"].p_value == pytest.approx(chi.pvalue, rel=1e-9)
    ref_counts = ref["cat"].value_counts().sort_index()
    cur_counts = cur["cat"].value_counts().reindex(ref_counts.index, fill_value=0)
    from scipy.spatial.distance import jensenshannon

    assert report["cat"].statistic == pytest.approx(
        jensenshannon(ref_counts.to_numpy(), cur_counts.to_numpy()), rel=1e-9
    )
    assert report["cat"].p_value is None


def test_every_named_test_runs_on_a_numeric_column() -> None:
    ref, cur = _frames(3000, shift=1.0, seed=4)
    for name in TEST_NAMES:
        column = drift(ref[["num"]], cur[["num"]], tests=name)["num"]
        if name == "z":
            assert column.drifted is None and "binary" in column.reason
            continue
        assert column.test == name and column.drifted is True, name
        assert (column.p_value is not None) == (name in ("ks", "chi2"))


def test_z_test_on_boolean_column() -> None:
    ref, cur = _frames(2000, shift=1.0, seed=5)
    column = drift(ref, cur, tests={"flag": "z"})["flag"]
    assert column.test == "z" and column.drifted is True and column.statistic > 0
    assert drift(ref, cur, tests={"cat": "z"})["cat"].reason.startswith("z test needs")


def test_sorted_tests_refuse_categorical_columns() -> None:
    column = drift(*_frames(100), tests={"cat": "ks"})["cat"]
    assert column.drifted is None and "numeric" in column.reason


def test_thresholds_per_test_and_per_column() -> None:
    ref, cur = _frames(3000, shift=0.15, seed=6)
    base = drift(ref, cur)
    wd = base["num"].statistic
    assert base["num"].threshold == 0.1 and base["num"].drifted is (wd >= 0.1)

    by_test = drift(ref, cur, thresholds={"wasserstein": wd + 0.01})
    assert by_test["num"].threshold == pytest.approx(wd + 0.01) and by_test["num"].drifted is False
    assert by_test["cat"].threshold == 0.1  # other tests keep their default

    by_column = drift(ref, cur, thresholds={"wasserstein": 10.0, "num": wd})
    assert by_column["num"].threshold == pytest.approx(wd) and by_column["num"].drifted is True

    p = drift(ref.iloc[:500], cur.iloc[:500])["num"].p_value
    assert drift(ref.iloc[:500], cur.iloc[:500], thresholds={"ks": p / 2})["num"].drifted is False
    assert drift(ref.iloc[:500], cur.iloc[:500], thresholds={"ks": p * 2})["num"].drifted is True


def test_threshold_keys_are_validated_and_disambiguated() -> None:
    ref = pd.DataFrame({"ks": [1.0, 2.0, 3.0] * 10, "x": range(30)})
    with pytest.raises(InvalidInput, match="both a column and a test"):
        drift(ref, ref, thresholds={"ks": 0.2})
    report = drift(ref, ref, thresholds={"column:ks": 0.2, "test:ks": 0.01})
    assert report["ks"].threshold == 0.2 and report["x"].threshold == 0.01
    with pytest.raises(InvalidInput, match="neither"):
        drift(ref, ref, thresholds={"typo": 0.1})
    with pytest.raises(InvalidInput, match="unknown drift test"):
        drift(ref, ref, tests="anova")
    with pytest.raises(InvalidInput):
        drift(ref, ref, tests={"nope": "ks"})


def test_dataset_verdict_uses_drift_share() -> None:
    ref, cur = _frames(2000, shift=1.0, seed=7)
    assert drift(ref, cur, drift_share=0.75).drifted is True
    assert drift(ref, cur, drift_share=0.8).drifted is False


def test_psi_bins_follow_the_bins_argument() -> None:
    ref, cur = _frames(4000, shift=0.5, seed=8)
    for bins in (4, 10, 25):
        column = drift(ref, cur, tests={"num": "psi"}, bins=bins)["num"]
        assert len(column.bins.reference) == len(column.bins.current) == bins
        assert len(column.bins.edges) == bins + 1
        assert sum(column.bins.reference) == 4000 and sum(column.bins.current) == 4000
        assert max(column.bins.reference) - min(column.bins.reference) <= 1  # quantile bins
    with pytest.raises(InvalidInput):
        drift(ref, cur, bins=1)


def test_low_cardinality_numeric_reports_unseen_values() -> None:
    ref = pd.DataFrame({"x": [0, 1, 2] * 100})
    cur = pd.DataFrame({"x": [0, 1, 2, 7, 9] * 60})
    column = drift(ref, cur)["x"]
    assert column.test == "chi2" and column.drifted is True
    assert column.unseen_categories == ["7", "9"] and column.n_unseen == 2
    assert column.summary.kind == "categories"


def test_unseen_categories_listed() -> None:
    ref = pd.DataFrame({"c": ["a", "b"] * 50})
    cur = pd.DataFrame({"c": ["a", "b", "zz"] * 30})
    column = drift(ref, cur)["c"]
    assert column.unseen_categories == ["zz"] and column.drifted is True


def test_sample_is_seeded_and_only_applied_when_asked() -> None:
    ref, cur = _frames(5000, shift=0.3, seed=9)
    full = drift(ref, cur)
    assert full.options["reference_rows"] == 5000 and full["num"].n_reference == 5000
    a = drift(ref, cur, sample=800, random_state=1)
    b = drift(ref, cur, sample=800, random_state=1)
    c = drift(ref, cur, sample=800, random_state=2)
    assert a["num"].n_reference == a["num"].n_current == 800
    assert a["num"].test == "ks"  # chosen on the sampled reference
    assert a.to_dict() == b.to_dict()
    assert a["num"].summary != c["num"].summary  # a different seed draws other rows


def test_thread_pool_gives_identical_results(monkeypatch: pytest.MonkeyPatch) -> None:
    ref, cur = _frames(3000, shift=0.4, seed=10)
    serial = drift(ref, cur).to_dict()
    monkeypatch.setattr(engine, "PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 2)
    assert drift(ref, cur).to_dict() == serial


def test_columns_argument_selects_and_validates() -> None:
    ref, cur = _frames(100)
    report = drift(ref, cur, columns=["cat", "num"])
    assert [c.name for c in report.columns] == ["cat", "num"]
    with pytest.raises(InvalidInput):
        drift(ref, cur, columns=["absent"])
    with pytest.raises(InvalidInput):
        drift(ref["num"], cur)  # type: ignore[arg-type]


def test_column_kinds_override_detection() -> None:
    ref = pd.DataFrame({"code": np.arange(300) % 12})
    cur = pd.DataFrame({"code": (np.arange(300) % 12) + 1})
    detected = drift(ref, cur)["code"]
    forced = drift(ref, cur, column_kinds={"code": "categorical"})["code"]
    assert detected.kind == "numeric" and detected.test == "ks"
    assert forced.kind == "categorical" and forced.test == "chi2"
    assert forced.unseen_categories == ["12"]
    skipped = drift(ref, cur, column_kinds={"code": "text"})["code"]
    assert skipped.drifted is None and "text" in skipped.reason
    with pytest.raises(InvalidInput):
        drift(ref, cur, column_kinds={"code": "image"})


def test_report_types() -> None:
    report = drift(*_frames(50))
    assert isinstance(report, DriftReport)
    assert all(isinstance(c, ColumnDrift) for c in report.columns)
    json.dumps(report.to_dict(), allow_nan=False)


def test_datetime_categories_are_labelled_as_timestamps() -> None:
    days = pd.to_datetime(["2024-01-01", "2024-02-01"])
    ref = pd.DataFrame({"d": days.repeat(50)})
    cur = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-03-01"]).repeat(50)})
    column = drift(ref, cur)["d"]
    assert column.kind == "datetime" and column.test == "chi2" and column.drifted is True
    assert column.unseen_categories == ["2024-03-01T00:00:00"]
    assert "2024-02-01T00:00:00" in column.summary.labels


def test_low_cardinality_reference_against_continuous_current() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"x": rng.integers(0, 2, 50_000).astype(float)})
    cur = pd.DataFrame({"x": rng.normal(size=50_000)})
    column = drift(ref, cur)["x"]
    assert column.test == "jensen_shannon" and column.drifted is True
    assert column.n_unseen == 50_000 and len(column.unseen_categories) == engine.MAX_UNSEEN_LISTED
    assert len(column.summary.labels) == engine.PLOT_CATEGORIES + 1  # top categories + "(other)"
    assert "binary" in drift(ref, cur, tests="z")["x"].reason


def test_importing_the_engine_does_not_import_plotly_or_scipy_stats() -> None:
    import subprocess
    import sys

    code = (
        "import sys, jupyter_mlops.core; before = set(sys.modules); "
        "import jupyter_mlops.core.drift; "
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] == 'plotly' or m.startswith('scipy.stats')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
