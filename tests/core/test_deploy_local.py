"""A deployment on the local target, over real HTTP to real model servers on 127.0.0.1:
MLflow's scoring formats through the router, 4xx passed through, a port in use, a
blue-green switch and rollback under load without a failed request, shadow and A/B
rollouts, the prediction log after a graceful stop, and the notebook surface."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from jupyter_mlops.core.deploy import deploy, deployments, get_deployment
from jupyter_mlops.core.deploy.demo_models import register_churn_model
from jupyter_mlops.core.deploy.loadgen import Load, post
from jupyter_mlops.core.errors import Conflict, InvalidInput
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

pytestmark = pytest.mark.slow


def features(rows: int = 3, seed: int = 7):
    return churn.feature_matrix(churn.generate(rows, seed=seed))


def split_body(rows: int = 3, seed: int = 7) -> bytes:
    frame = features(rows, seed)
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split",
                                                                  index=False))}).encode()


@pytest.fixture(scope="module")
def models(module_ws: Workspace) -> dict[str, str]:
    v1 = register_churn_model(module_ws, alias="champion")
    v2 = register_churn_model(module_ws, c=0.05, seed=1, alias="challenger")
    return {"v1": f"churn/{v1}", "v2": f"churn/{v2}"}


@pytest.fixture(scope="module")
def dep(module_ws: Workspace, models: dict[str, str]) -> Iterator:
    deployment = deploy("churn@champion", name="churn-api", workspace=module_ws)
    yield deployment
    deployment.stop()


def test_deploy_serves_mlflow_formats_with_the_version_header(dep, models):
    assert dep.status == "running" and dep.traffic == {models["v1"]: 100.0}
    frame = features(4)
    records = json.loads(frame.to_json(orient="records"))
    bodies = [
        split_body(4),
        json.dumps({"dataframe_records": records}).encode(),
        json.dumps({"instances": records}).encode(),
        json.dumps({"inputs": {c: frame[c].tolist() for c in frame}}).encode(),
    ]
    for body in bodies:
        status, headers, answer = post(dep.url, body)
        assert status == 200, answer
        assert headers["x-mlops-version"] == models["v1"]
        assert len(json.loads(answer)["predictions"]) == 4
    status, headers, answer = post(dep.url, frame.to_csv(index=False).encode(),
                                   {"content-type": "text/csv"})
    assert status == 200 and len(json.loads(answer)["predictions"]) == 4

    result = dep.predict(frame)
    assert list(result.index) == list(frame.index) and result.attrs["version"] == models["v1"]


def test_malformed_requests_get_the_model_servers_4xx(dep, models):
    for body in (b"not json", b'{"wrong_key": 1}',
                 b'{"dataframe_split": {"columns": ["a"], "data": [[1]]}}'):
        status, headers, answer = post(dep.url, body)
        assert status == 400, answer
        assert headers["x-mlops-version"] == models["v1"]
        assert json.loads(answer)["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    with pytest.raises(InvalidInput, match="refused the input"):
        dep.predict({"dataframe_split": {"columns": ["a"], "data": [[1]]}})
    host, port = dep.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200


def test_a_port_in_use_is_reported_with_the_port(module_ws, models):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(Conflict, match=f"Port {port} is already in use") as info:
            deploy("churn@champion", name="port-clash", port=port, workspace=module_ws)
        assert info.value.details["port"] == port


def test_blue_green_switch_and_rollback_under_load_lose_no_request(dep, models, module_ws):
    load = Load(dep.url, split_body())
    load.start()
    try:
        dep.set_strategy("blue_green", model="churn@challenger")
        assert dep.traffic == {models["v1"]: 100.0, models["v2"]: 0.0}
        status, headers, _ = post(dep.url, split_body(), {"X-MLOps-Route": models["v2"]})
        assert status == 200 and headers["x-mlops-version"] == models["v2"]
        time.sleep(0.3)
        dep.promote()
        assert dep.traffic == {models["v2"]: 100.0}
        time.sleep(0.5)
        dep.rollback()
        time.sleep(0.5)
    finally:
        load.stop()
    assert load.failures == []
    statuses = Counter(status for status, _ in load.results)
    assert statuses == {200: len(load.results)} and len(load.results) > 20
    served = [version for _, version in load.results]
    # one switch forward, one back: v1 … v2 … v1, never interleaved
    changes = [served[0]] + [b for a, b in zip(served, served[1:]) if a != b]
    assert changes == [models["v1"], models["v2"], models["v1"]]
    assert dep.traffic == {models["v1"]: 100.0}
    kinds = [e.kind for e in list_events(module_ws, kind="deploy")]
    assert {"deploy.rollout", "deploy.promote", "deploy.rollback"} <= set(kinds)


def test_shadow_answers_with_the_champion_and_compares_the_challenger(dep, models):
    dep.set_strategy("shadow", model=models["v2"])
    for seed in range(30):
        status, headers, _ = post(dep.url, split_body(5, seed))
        assert status == 200 and headers["x-mlops-version"] == models["v1"]
    deadline = time.monotonic() + 30
    while True:  # mirrors are answered after the caller's answer; the log flushes every 2 s
        try:
            comparison = dep.shadow_comparison(since="10m")
            if comparison.requests >= 30:
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "the shadow's answers never reached the log"
        time.sleep(0.5)
    assert comparison.champion == models["v1"] and comparison.challenger == models["v2"]
    assert comparison.rows == 150 and comparison.challenger_errors == 0
    assert 0.5 < comparison.agreement_rate <= 1.0
    assert comparison.drift_test is not None
    health = dep.health()
    assert health[models["v2"]]["requests"] >= 30 and health[models["v2"]]["role"] == "candidate"
    dep.promote()
    status, headers, _ = post(dep.url, split_body())
    assert headers["x-mlops-version"] == models["v2"]


def test_ab_keeps_each_caller_on_one_side(dep, models):
    # after the shadow's promotion, v1 is warm on standby: the A/B split reuses it
    dep.set_strategy("ab", model=models["v1"], weights=[50, 50])
    assert dep.traffic == {models["v2"]: 50.0, models["v1"]: 50.0}
    sides: dict[str, set[str]] = {}
    for user in range(60):
        for _ in range(2):
            _, headers, _ = post(dep.url, split_body(), {"X-MLOps-Key": f"user-{user}"})
            sides.setdefault(f"user-{user}", set()).add(headers["x-mlops-version"])
    assert all(len(seen) == 1 for seen in sides.values())
    counts = Counter(next(iter(seen)) for seen in sides.values())
    assert set(counts) == {models["v1"], models["v2"]} and min(counts.values()) >= 15
    dep.rollback()
    assert dep.traffic == {models["v2"]: 100.0}


def test_listing_repr_and_logs(dep, models, module_ws):
    names = [d.name for d in deployments(workspace=module_ws)]
    assert "churn-api" in names
    same = get_deployment("churn-api", workspace=module_ws)
    html = same._repr_html_()
    assert "churn-api" in html and models["v2"] in html and "running" in html
    text = same.logs(tail=20)
    assert "== router (churn-api) ==" in text and "MLOPS_MODEL_SERVER_READY" in text


def test_deploy_magics(dep, models, module_ws, monkeypatch):
    import jupyter_mlops
    from IPython.core.error import UsageError

    from jupyter_mlops.deploy_magics import deploy_magic, deployments_magic

    monkeypatch.setattr(jupyter_mlops, "_current", module_ws)
    same = deploy_magic("churn@challenger --name churn-api")  # already serving: no rollout
    assert same.name == "churn-api" and same.traffic == {models["v2"]: 100.0}
    table = deployments_magic("")
    assert "churn-api" in table._repr_html_() and "churn-api" in repr(table)
    assert deployments_magic("churn-api").name == "churn-api"
    with pytest.raises(UsageError, match="need --strategy"):
        deploy_magic("churn/1 --name churn-api --steps 5,50")
    with pytest.raises(UsageError, match="Unknown strategy"):
        deploy_magic("churn/1 --name churn-api --strategy yolo")
    with pytest.raises(UsageError, match="not registered|No model version"):
        deploy_magic("nope@champion --name nope")
    with pytest.raises(UsageError, match="No deployment named"):
        deployments_magic("missing")


def test_graceful_stop_flushes_every_answered_request(dep, models):
    """The module's last test: it stops the shared deployment."""
    ids = [f"flush-{seed}" for seed in range(25)]
    for seed, request_id in enumerate(ids):
        status, _, _ = post(dep.url, split_body(2, seed), {"x-request-id": request_id})
        assert status == 200
    dep.stop()  # at once: the last answers are still in the router's buffer
    assert dep.status == "stopped" and dep.traffic == {models["v2"]: 100.0}
    log = dep.predictions()
    mine = log[log["request_id"].isin(ids)]
    assert len(mine) == 25 and (mine["status"] == 200).all()
    assert set(mine["version"]) == {models["v2"]}
    frame = dep.prediction_frame()
    rows = frame[frame["_request_id"].isin(ids)]
    assert len(rows) == 50 and "tenure_months" in rows and "prediction" in rows
    assert len(dep.prediction_frame(last=3)) == 6
