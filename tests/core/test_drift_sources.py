"""Drift between dataset versions: the stored profile as the reference, the history of
checks, and logging to the active run — against a real workspace (SQLite, objects)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.drift import drift, get_check, list_checks
from jupyter_mlops.core.drift import stats as S
from jupyter_mlops.core.drift.engine import compare_frames
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift-sources")
    mp = pytest.MonkeyPatch()
    mp.delenv(objects.ENV_OBJECTS_URL, raising=False)
    mlops = root / ".mlops"
    workspace = Workspace.resolve(root, db_url=f"sqlite:///{mlops / 'state.db'}",
                                  tracking_uri=f"sqlite:///{mlops / 'mlflow.db'}",
                                  artifact_root=(mlops / "artifacts").as_uri())
    yield workspace
    workspace.close()
    mp.undo()


def frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    """Every kind the profile stores differently, one column shifted by `shift`."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({
        "amount": rng.normal(shift, 1.0, n),
        "stable": rng.exponential(1.0, n),
        "zero_inflated": np.where(rng.random(n) < 0.4, 0.0, rng.normal(0, 1, n)),
        "rating": rng.integers(1, 5, n),
        "country": rng.choice(["DE", "FR", "IT", "ES"], n),
        "member": rng.random(n) < 0.3,
        "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
        "note": [f"free text {i}" for i in rng.integers(0, 10**9, n)],
        "blank": np.full(n, np.nan),
    })
    data.loc[: n // 50, "amount"] = np.nan
    return data


@pytest.fixture(scope="module")
def versions(ws):
    ref, cur = frame(4000, 0.0, 1), frame(4000, 0.6, 2)
    v1 = D.snapshot(ref, "sales", tags=["baseline"], workspace=ws)
    v2 = D.snapshot(cur, "sales", workspace=ws)
    small_ref, small_cur = frame(300, 0.0, 3), frame(300, 0.6, 4)
    s1 = D.snapshot(small_ref, "small", workspace=ws)
    s2 = D.snapshot(small_cur, "small", workspace=ws)
    return {"ref": ref, "cur": cur, "v1": v1, "v2": v2, "small_ref": small_ref,
            "small_cur": small_cur, "s1": s1, "s2": s2}


def rows(report) -> list[dict]:
    return [{k: v for k, v in c.items() if k != "approximate"}
            for c in report.to_dict()["columns"]]


def test_exact_mode_equals_the_dataframe_check_and_reads_only_what_it_must(ws, versions):
    from_frames = compare_frames(versions["ref"], versions["cur"])
    from_versions = drift("sales@baseline", "sales", workspace=ws, log_to_run=False)
    assert rows(from_versions) == rows(from_frames)
    assert not any(c.approximate for c in from_versions.columns)
    # continuous numbers and datetimes under Wasserstein need the values; the low-cardinality
    # number, categories, booleans, text and the empty column come from the profile alone
    assert from_versions.options["reference_columns_read"] == [
        "amount", "stable", "zero_inflated", "seen"]
    assert from_versions["amount"].drifted is True
    assert from_versions["country"].drifted is False
    assert from_versions["note"].reason.startswith("text column skipped")
    assert from_versions["blank"].reason == "no valid values in reference"


@pytest.mark.parametrize("tests", ["psi", "jensen_shannon", "chi2", "hellinger", "kl"])
def test_count_tests_on_categories_never_read_the_reference(ws, versions, tests):
    columns = ["rating", "country", "member"]
    report = drift("sales@baseline", "sales", columns=columns, tests=tests, workspace=ws,
                   record=False, log_to_run=False)
    assert report.options["reference_columns_read"] == []
    assert rows(report) == rows(compare_frames(versions["ref"], versions["cur"],
                                               columns=columns, tests=tests))


def test_small_references_are_exact_from_the_sketch_with_every_test(ws, versions):
    for tests in (None, "ks", "psi", "wasserstein"):
        report = drift(versions["s1"], versions["s2"], tests=tests, workspace=ws,
                       record=False, log_to_run=False)
        assert report.options["reference_columns_read"] == (
            ["note"] if tests else [])  # a forced test makes text a category: needs labels
        expected = compare_frames(versions["small_ref"], versions["small_cur"], tests=tests)
        assert rows(report) == rows(expected), tests


def test_sketch_mode_never_reads_and_flags_approximate_rows(ws, versions):
    exact = compare_frames(versions["ref"], versions["cur"], tests={"amount": "ks"})
    sketch = drift("sales@baseline", "sales", tests={"amount": "ks"}, reference_mode="sketch",
                   workspace=ws, record=False, log_to_run=False)
    assert sketch.options["reference_columns_read"] == []
    for name in ("amount", "stable", "zero_inflated", "seen"):
        approx, true = sketch[name], exact[name]
        assert approx.approximate and approx.test == true.test
        assert approx.statistic == pytest.approx(true.statistic, abs=5e-3), name
        assert approx.drifted == true.drifted
        assert approx.n_reference == true.n_reference
    assert sketch["amount"].p_value < 1e-10
    for name in ("rating", "country", "member"):
        assert not sketch[name].approximate
        assert sketch[name].statistic == exact[name].statistic
    frame_rows = sketch.to_frame()
    assert frame_rows.set_index("column").loc["amount", "approximate"]
    assert "≈" in sketch._repr_html_()


def test_sketch_statistics_follow_the_quantile_function():
    rng = np.random.default_rng(7)
    ref, cur = np.sort(rng.normal(0, 1, 200_000)), np.sort(rng.normal(0.1, 1.1, 50_000))
    sketch = np.quantile(ref, np.linspace(0, 1, 1001))
    assert S.ks_sketch(sketch, cur) == pytest.approx(S.ks_statistic(ref, cur), abs=1e-3)
    assert S.wasserstein_sketch(sketch, cur) == pytest.approx(
        S.wasserstein_distance(ref, cur), rel=0.03)
    edges = S.quantile_edges(sketch, 10)
    assert np.allclose(S.sketch_binned_counts(sketch, edges, ref.size),
                       S.binned_counts(ref, edges), atol=ref.size * 1e-3)
    # atoms (repeated sketch values) give jumps: F(0-) and F(0) differ by the atom's mass
    atoms = np.sort(np.where(rng.random(10_000) < 0.5, 0.0, rng.normal(0, 1, 10_000)))
    atom_sketch = np.quantile(atoms, np.linspace(0, 1, 1001))
    left, right = (S.sketch_cdf(atom_sketch, np.array([0.0]), side) for side in ("left", "right"))
    assert right[0] - left[0] == pytest.approx(np.mean(atoms == 0), abs=2e-3)


def test_unknown_references_and_bad_arguments(ws, versions):
    with pytest.raises(NotFound, match="No dataset named 'nope'"):
        drift("nope", "sales", workspace=ws)
    with pytest.raises(NotFound, match="has no version 'v9'"):
        drift("sales@v9", "sales", workspace=ws)
    with pytest.raises(InvalidInput, match="tests: 'missing' is not a column"):
        drift("sales@baseline", "sales", tests={"missing": "psi"}, workspace=ws)
    with pytest.raises(InvalidInput, match="reference_mode"):
        drift("sales@baseline", "sales", reference_mode="guess", workspace=ws)
    with pytest.raises(InvalidInput, match="reference must be a pandas DataFrame, a dataset version"):
        drift(42, "sales", workspace=ws)


def test_a_dataframe_against_a_version_and_forced_kinds(ws, versions):
    report = drift(versions["ref"], "sales", columns=["rating", "country"],
                   column_kinds={"rating": "numeric"}, tests={"rating": "ks"}, workspace=ws,
                   log_to_run=False)
    assert report.options["reference"] == "DataFrame"
    assert report.options["current_dataset"] == "sales"
    assert report["rating"].test == "ks"
    forced = drift("sales@baseline", "sales", columns=["rating"],
                   column_kinds={"rating": "categorical"}, workspace=ws, record=False,
                   log_to_run=False)
    assert forced.options["reference_columns_read"] == ["rating"]  # the kind changed
    assert forced["rating"].kind == "categorical"


def test_empty_versions_give_reasons_not_errors(ws):
    empty = pd.DataFrame({"x": pd.Series([], dtype=float), "c": pd.Series([], dtype=object)})
    D.snapshot(empty, "empty", workspace=ws)
    report = drift("empty", "empty", workspace=ws, log_to_run=False)
    assert report.n_evaluated == 0 and report.share is None and not report.drifted
    assert {c.reason for c in report.columns} == {"no rows in reference"}


def test_checks_are_kept_and_listed_per_dataset(ws, versions):
    drift("small", "small", workspace=ws, log_to_run=False)  # an older check to page back to
    before = len(list_checks(workspace=ws, limit=1000))
    report = drift("small", "small@" + versions["s1"].version[:8], workspace=ws,
                   log_to_run=False)
    check = get_check(report.options["check_id"], ws)
    assert check.reference == f"small@{versions['s2'].short}"
    assert check.current_version == versions["s1"].version
    assert check.origin == "python" and check.n_columns == len(report.columns)
    assert check.drifted_columns == [c.name for c in report.columns if c.drifted]
    assert check.report.to_dict() == report.to_dict() | {"options": check.report.options}
    assert check.report_data["columns"] == report.to_dict()["columns"]
    assert len(list_checks(workspace=ws, limit=1000)) == before + 1
    assert {c.reference_dataset for c in list_checks("small", workspace=ws)} == {"small"}
    newest = list_checks(workspace=ws, limit=1)[0]
    assert newest.id == check.id and newest.report_data is None
    assert list_checks(workspace=ws, before_id=check.id, limit=1)[0].id < check.id
    frames_only = compare_frames(versions["small_ref"], versions["small_cur"])
    assert "check_id" not in frames_only.options  # DataFrames alone are not recorded
    with pytest.raises(NotFound, match="No drift check 99999"):
        get_check(99999, ws)
    events = [e for e in ws_events(ws) if e["kind"] == "drift.check"]
    assert any(e["data"]["check_id"] == check.id for e in events)


def ws_events(ws):
    from jupyter_mlops.core.events import list_events

    return [e.to_dict() for e in list_events(ws, kind="drift", limit=100)]


def test_a_check_inside_a_run_logs_metrics_and_the_figure(ws, versions, monkeypatch):
    from jupyter_mlops.core.tracking import get_run, start_run

    monkeypatch.setattr(jupyter_mlops, "_current", ws)
    with start_run(experiment="drift-tests", workspace=ws) as run:
        report = drift(versions["ref"], versions["cur"], columns=["amount", "country"])
    detail = get_run(run.id, ws)
    metrics = detail.run.metrics
    assert metrics["drift.share"] == report.share
    assert metrics["drift.amount.wasserstein"] == pytest.approx(report["amount"].statistic)
    assert metrics["drift.country.jensen_shannon"] == pytest.approx(
        report["country"].statistic)
    paths = {a.path for a in detail.artifacts}
    assert {"figures/drift.html", "figures/drift.json", "drift/report.json"} <= paths
    stored = json.loads((ws.mlops_dir / "artifacts").joinpath(
        *_artifact_parts(detail.artifact_uri, "drift/report.json")).read_text())
    assert stored["n_drifted"] == report.n_drifted


def _artifact_parts(artifact_uri: str, rel: str) -> list[str]:
    tail = artifact_uri.split("/artifacts/", 1)[1]
    return [*tail.split("/"), *rel.split("/")]
