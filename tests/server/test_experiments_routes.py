"""The experiments routes through a real Jupyter server over a real MLflow SQLite store.

25 runs are logged once per module with the real `start_run` (in a git
repository, from a "notebook"), and the server is rooted at that workspace,
so the notebook paths it returns are the ones `docmanager:open` would get.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.core.tracking import refresh_context, start_run
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.usefixtures("jp_serverapp")

CONTEXT_ENV = ("JUPYTER_MLOPS_NOTEBOOK", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME",
               "JUPYTER_MLOPS_PARENT_RUN_ID")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("experiments-root").resolve()


@pytest.fixture(scope="module")
def sweep(sweep_root: Path) -> dict:
    """25 runs of experiment "sweep" (params i, model, seed; metrics acc and loss/train
    with histories) logged from nb/sweep.ipynb in a committed git repository."""
    (sweep_root / "nb").mkdir()
    (sweep_root / "nb" / "sweep.ipynb").write_text("{}", encoding="utf-8")
    _git(sweep_root, "init", "-q")
    _git(sweep_root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q",
         "--allow-empty", "-m", "start")
    commit = _git(sweep_root, "rev-parse", "HEAD")
    mp = pytest.MonkeyPatch()
    for name in CONTEXT_ENV:
        mp.delenv(name, raising=False)
    mp.setenv("JUPYTER_MLOPS_NOTEBOOK", str(sweep_root / "nb" / "sweep.ipynb"))
    refresh_context()
    ws = Workspace.resolve(sweep_root)
    ids = []
    try:
        for i in range(25):
            params = {"i": i, "model": "rf" if i % 2 else "gbm", "seed": 7}
            with start_run("sweep", name=f"run-{i:02d}", params=params, workspace=ws) as run:
                for epoch in range(3):
                    run.log(acc=i / 100 + epoch / 1000, **{"loss/train": 1 - epoch / 10})
                if i == 0:
                    run.log_input("sales", "abc123", "datasets/sales@abc123")
            ids.append(run.id)
    finally:
        mp.undo()
        refresh_context()
        ws.close()
    return {"ids": ids, "commit": commit}


@pytest.fixture
def jp_root_dir(sweep_root: Path) -> Path:
    """The server's root (and so its workspace) is the module's workspace."""
    return sweep_root


async def get_json(jp_fetch, *parts, **kwargs):
    response = await jp_fetch("jupyter-mlops", *parts, **kwargs)
    assert response.code == 200
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", *parts, allow_nonstandard_methods=True, **kwargs)
    return info.value.code, json.loads(info.value.response.body)


async def test_lists_experiments(jp_fetch, sweep) -> None:
    body = await get_json(jp_fetch, "experiments")
    names = [e["name"] for e in body["experiments"]]
    assert names[0] == "sweep" and "Default" in names
    assert all(e["lifecycle_stage"] == "active" for e in body["experiments"])


async def test_pages_through_25_runs_with_tokens(jp_fetch, sweep) -> None:
    seen: list[str] = []
    sizes = []
    token = None
    while True:
        params = {"page_size": "10", **({"page_token": token} if token else {})}
        page = await get_json(jp_fetch, "experiments", "sweep", "runs", params=params)
        sizes.append(len(page["runs"]))
        seen += [r["id"] for r in page["runs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert sizes == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25 and set(seen) == set(sweep["ids"])
    assert seen[0] == sweep["ids"][-1]  # newest first by default


async def test_filters_and_orders_in_the_store(jp_fetch, sweep) -> None:
    page = await get_json(jp_fetch, "experiments", "sweep", "runs", params={
        "filter": "params.model = 'rf' and metrics.acc > 0.1", "order_by": "metrics.acc DESC"})
    assert [r["name"] for r in page["runs"]] == [
        f"run-{i:02d}" for i in (23, 21, 19, 17, 15, 13, 11)]
    first = page["runs"][0]
    assert first["metrics"]["acc"] == pytest.approx(0.232)
    assert first["params"] == {"i": "23", "model": "rf", "seed": "7"}
    assert first["notebook"] == "nb/sweep.ipynb"
    assert first["git_commit"] == sweep["commit"] and first["git_dirty"] is False
    # by experiment id, ascending by name, with the query cache buster the frontend adds
    experiment_id = page["experiment_ids"][0]
    ordered = await get_json(jp_fetch, "experiments", experiment_id, "runs", params={
        "order_by": "attributes.run_name ASC", "page_size": "3", "1732350000000": ""})
    assert [r["name"] for r in ordered["runs"]] == ["run-00", "run-01", "run-02"]


async def test_run_detail_has_context_artifacts_and_inputs(jp_fetch, sweep) -> None:
    run_id = sweep["ids"][0]
    detail = await get_json(jp_fetch, "runs", run_id)
    run = detail["run"]
    assert run["id"] == run_id and run["status"] == "FINISHED"
    assert run["params"]["model"] == "gbm"
    assert set(run["metrics"]) == {"acc", "loss/train"}
    assert detail["notebook"] == {"recorded": "nb/sweep.ipynb", "path": "nb/sweep.ipynb",
                                  "exists": True}
    assert detail["output_notebook"] is None
    assert detail["all_tags"]["mlflow.source.git.commit"] == sweep["commit"]
    assert "environment/requirements.txt" in [a["path"] for a in detail["artifacts"]]
    assert detail["inputs"] == [{"name": "sales", "digest": "abc123", "source_type":
                                 "jupyter-mlops", "source": "datasets/sales@abc123",
                                 "context": "training"}]


async def test_metric_history_by_step_even_with_a_slash_in_the_key(jp_fetch, sweep) -> None:
    run_id = sweep["ids"][2]
    history = await get_json(jp_fetch, "runs", run_id, "metrics", "acc")
    assert [p["step"] for p in history["points"]] == [0, 1, 2]
    assert history["points"][-1]["value"] == pytest.approx(0.022)
    # (the frontend's encodeURIComponent form, loss%2Ftrain, is covered by the jest spec:
    # jp_fetch would encode the % once more)
    slashed = await get_json(jp_fetch, f"runs/{run_id}/metrics/loss/train")
    assert slashed["key"] == "loss/train"
    assert [p["value"] for p in slashed["points"]] == pytest.approx([1.0, 0.9, 0.8])


async def test_compares_runs(jp_fetch, sweep) -> None:
    a, b, c = sweep["ids"][:3]
    response = await jp_fetch("jupyter-mlops", "runs", "compare", method="POST",
                              body=json.dumps({"run_ids": [a, b, c]}))
    body = json.loads(response.body)
    assert body["run_ids"] == [a, b, c]
    assert body["params_common"] == {"seed": "7"}
    assert body["params_differ"]["model"] == {a: "gbm", b: "rf", c: "gbm"}
    assert body["metrics"]["acc"][c] == pytest.approx(0.022)
    assert [r["id"] for r in body["runs"]] == [a, b, c]


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": "0"}, "page_size"),
    ({"page_size": "1001"}, "page_size"),
    ({"page_size": "ten"}, "page_size"),
    ({"colour": "red"}, "colour"),
    ({"order_by": "bogus.x"}, "bogus"),
    ({"filter": "params.x ==== 1"}, "quoted string"),
    ({"page_token": "not-a-token"}, "page token"),
])
async def test_bad_search_input_is_a_400(jp_fetch, sweep, params, field) -> None:
    code, error = await error_of(jp_fetch, "experiments", "sweep", "runs", params=params)
    assert code == 400, error
    assert field in error["message"]
    assert error["code"] == "invalid_input" and "Traceback" not in error["message"]


async def test_unknown_ids_are_404s_naming_the_id(jp_fetch, sweep) -> None:
    code, error = await error_of(jp_fetch, "experiments", "no-such-experiment", "runs")
    assert code == 404 and "'no-such-experiment'" in error["message"]
    missing = "f" * 32
    for path in (f"runs/{missing}", f"runs/{missing}/metrics/acc", "runs/not-a-run-id"):
        code, error = await error_of(jp_fetch, path)
        assert code == 404 and path.split("/")[1] in error["message"], (path, error)
    code, error = await error_of(jp_fetch, f"runs/{sweep['ids'][0]}/metrics/nope")
    assert code == 404 and "'nope'" in error["message"]
    code, error = await error_of(jp_fetch, "runs", "compare", method="POST",
                                 body=json.dumps({"run_ids": [sweep["ids"][0], missing]}))
    assert code == 404 and missing in error["message"]


@pytest.mark.parametrize(("body", "needle"), [
    ("{not json", "not valid JSON"),
    ("", "body is empty"),
    (json.dumps(["a", "b"]), "must be a JSON object"),
    (json.dumps({}), "run_ids: Field required"),
    (json.dumps({"run_ids": "abc"}), "run_ids: Input should be a valid list"),
    (json.dumps({"run_ids": ["abc"]}), "run_ids: List should have at least 2 items"),
    (json.dumps({"run_ids": ["abc", "abc"]}), "run ids must be distinct"),
    (json.dumps({"run_ids": ["a", "b"], "extra": 1}), "extra: Extra inputs"),
])
async def test_malformed_compare_body_is_a_400(jp_fetch, sweep, body, needle) -> None:
    code, error = await error_of(jp_fetch, "runs", "compare", method="POST", body=body)
    assert code == 400 and needle in error["message"], error


@pytest.fixture
def tracking_server_down(jp_server_config, monkeypatch):
    """Nothing listens on port 9 (discard); no retries, so the 503 comes at once."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    jp_server_config.MLOps.tracking_uri = "http://127.0.0.1:9"
    return jp_server_config


@pytest.mark.usefixtures("tracking_server_down")
async def test_tracking_store_down_is_a_503_naming_the_uri(jp_fetch) -> None:
    for path in ("experiments", "experiments/sweep/runs", f"runs/{'a' * 32}"):
        code, error = await error_of(jp_fetch, path, request_timeout=60)
        assert code == 503, (path, error)
        assert error["code"] == "backend_unavailable"
        assert "http://127.0.0.1:9" in error["message"]
        assert error["details"] == {"uri": "http://127.0.0.1:9"}
