"""Search, detail, histories and comparison over a real MLflow SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.tracking import (
    compare_runs,
    get_run,
    list_experiments,
    metric_history,
    search_runs,
    start_run,
)
from jupyter_mlops.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(module_ws: Workspace) -> Workspace:
    return module_ws


@pytest.fixture(scope="module")
def sweep(ws: Workspace) -> list[str]:
    """25 runs of a small sweep: params i and model, metric acc with a history."""
    mp = pytest.MonkeyPatch()
    for name in ("JUPYTER_MLOPS_NOTEBOOK", "JPY_SESSION_NAME", "JUPYTER_MLOPS_PARENT_RUN_ID"):
        mp.delenv(name, raising=False)
    mp.setenv("JUPYTER_MLOPS_NOTEBOOK", str(ws.root / "nb" / "sweep.ipynb"))
    ids = []
    try:
        for i in range(25):
            model = "rf" if i % 2 else "gbm"
            with start_run("sweep", name=f"run-{i:02d}", params={"i": i, "model": model, "seed": 7},
                           workspace=ws) as run:
                for epoch in range(3):
                    run.log(acc=i / 100 + epoch / 1000)
            ids.append(run.id)
    finally:
        mp.undo()
    return ids


def test_pagination_in_the_store(ws, sweep):
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = search_runs("sweep", page_size=10, page_token=token, workspace=ws)
        pages += 1
        seen += [r.id for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
    assert pages == 3
    assert len(seen) == 25 and set(seen) == set(sweep)
    # newest first by default
    assert seen[0] == sweep[-1]


def test_filter_and_order(ws, sweep):
    page = search_runs("sweep", filter="params.model = 'rf' and metrics.acc > 0.1",
                       order_by="metrics.acc DESC", workspace=ws)
    names = [r.name for r in page.runs]
    assert names == [f"run-{i:02d}" for i in (23, 21, 19, 17, 15, 13, 11)]
    assert page.runs[0].metrics["acc"] == pytest.approx(0.232)
    by_id = search_runs(page.experiment_ids[0], page_size=1, workspace=ws)  # experiment by id
    assert len(by_id.runs) == 1 and by_id.next_page_token


def test_bad_search_input(ws, sweep):
    with pytest.raises(InvalidInput):
        search_runs("sweep", filter="params.model ===", workspace=ws)
    with pytest.raises(InvalidInput):
        search_runs("sweep", page_size=0, workspace=ws)
    with pytest.raises(NotFound, match="no-such-experiment"):
        search_runs("no-such-experiment", workspace=ws)


def test_run_detail_is_json_ready(ws, sweep):
    detail = get_run(sweep[3], ws)
    assert detail.run.status == "FINISHED"
    assert detail.run.params == {"i": "3", "model": "rf", "seed": "7"}
    assert detail.run.metrics == {"acc": pytest.approx(0.032)}
    assert detail.run.notebook == "nb/sweep.ipynb"
    assert detail.source_name == str(ws.root / "nb" / "sweep.ipynb")
    assert detail.run.start_time and detail.run.end_time and detail.run.duration_ms >= 0
    assert [a.path for a in detail.artifacts if not a.is_dir] == ["environment/requirements.txt"]
    json.dumps(detail.to_dict(), allow_nan=False)


def test_non_finite_metrics_become_null(ws):
    with start_run("odd", workspace=ws) as run:
        run.log(loss=float("nan"), gain=float("inf"))
    data = get_run(run.id, ws).to_dict()
    assert data["run"]["metrics"]["loss"] is None  # MLflow's SQL store clamps inf itself
    json.dumps(data, allow_nan=False)


def test_metric_history(ws, sweep):
    history = metric_history(sweep[10], "acc", workspace=ws)
    assert [p.step for p in history.points] == [0, 1, 2]
    assert [p.value for p in history.points] == pytest.approx([0.1, 0.101, 0.102])
    assert history.to_dict()["points"][0].keys() == {"step", "value", "timestamp"}
    with pytest.raises(NotFound, match="'nope'"):
        metric_history(sweep[10], "nope", workspace=ws)


def test_compare_runs(ws, sweep):
    result = compare_runs([sweep[1], sweep[2], sweep[1]], workspace=ws)
    assert result.run_ids == [sweep[1], sweep[2]]
    assert result.params_common == {"seed": "7"}
    assert result.params_differ == {"i": {sweep[1]: "1", sweep[2]: "2"},
                                    "model": {sweep[1]: "rf", sweep[2]: "gbm"}}
    assert result.metrics["acc"] == {sweep[1]: pytest.approx(0.012),
                                     sweep[2]: pytest.approx(0.022)}
    json.dumps(result.to_dict(), allow_nan=False)
    with pytest.raises(InvalidInput):
        compare_runs([], workspace=ws)


@pytest.mark.parametrize("call", [
    lambda ws: get_run("0123456789abcdef0123456789abcdef", ws),
    lambda ws: metric_history("0123456789abcdef0123456789abcdef", "acc", workspace=ws),
    lambda ws: compare_runs(["0123456789abcdef0123456789abcdef"], workspace=ws),
    lambda ws: get_run("not a run id", ws),
])
def test_unknown_run_is_not_found_with_its_id(ws, call):
    with pytest.raises(NotFound) as caught:
        call(ws)
    assert ("0123456789abcdef0123456789abcdef" in caught.value.message
            or "not a run id" in caught.value.message)


def test_list_experiments(ws, sweep):
    experiments = {e.name: e for e in list_experiments(ws)}
    assert {"Default", "sweep"} <= set(experiments)
    location = experiments["sweep"].artifact_location
    assert location.startswith(ws.artifact_root + "/sweep-")
    assert not Path("mlruns").exists()
