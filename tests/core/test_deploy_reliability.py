"""A version killed under load (fallback where the strategy allows it, else a 503 naming
the version; restarted by the supervisor), no answered request missing from the log, and
a deployment surviving a restart of whatever started it (re-attached, or restarted by
`reconcile()` after its router died)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from jupyter_mlops.core.deploy import deploy, get_deployment, reconcile
from jupyter_mlops.core.deploy.demo_models import register_constant_model
from jupyter_mlops.core.deploy.loadgen import Load, post
from jupyter_mlops.core.deploy.targets.local import pid_alive
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.slow

BODY = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}).encode()


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def models(module_ws: Workspace) -> dict[str, str]:
    return {"v1": "churn/" + register_constant_model(module_ws, value=False),
            "v2": "churn/" + register_constant_model(module_ws, value=True)}


@pytest.fixture(scope="module")
def dep(module_ws: Workspace, models: dict[str, str]) -> Iterator:
    deployment = deploy(models["v1"], name="sturdy", workspace=module_ws)
    yield deployment
    if deployment._alive():
        deployment.stop()


def pid_of(dep, key: str) -> int:
    return next(v.pid for v in dep.versions if v.key == key)


def test_a_killed_version_loses_its_traffic_to_the_healthy_one_then_returns(dep, models,
                                                                            module_ws):
    dep.set_strategy("ab", model=models["v2"], weights=[50, 50])
    victim = pid_of(dep, models["v2"])
    load = Load(dep.url, BODY)
    load.start()
    try:
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        killed_at = len(load.results)
        wait_until(lambda: not dep.health()[models["v2"]]["healthy"], 10, "unhealthy")
        # the supervisor restarts it; the split takes it back once /ping answers
        wait_until(lambda: dep.health()[models["v2"]]["healthy"], 60, "the restart")
        restarted_at = len(load.results)
        time.sleep(0.5)
    finally:
        load.stop()
    assert load.failures == [] and {s for s, _ in load.results} == {200}
    # a 50/50 split alternates; while v2 was down, v1 answered runs of requests
    served = [v for _, v in load.results]
    assert all(a != b for a, b in zip(served[:killed_at - 1], served[1:killed_at]))
    longest = run = 0
    for version in served[killed_at:restarted_at]:
        run = run + 1 if version == models["v1"] else 0
        longest = max(longest, run)
    assert longest >= 3
    assert models["v2"] in {v for _, v in load.results[restarted_at:]}
    assert pid_of(dep, models["v2"]) != victim
    kinds = [e.kind for e in list_events(module_ws, kind="deploy")]
    assert "deploy.health" in kinds and "deploy.restarted" in kinds


def test_with_nowhere_to_go_the_caller_gets_503_naming_the_version(dep, models):
    dep.rollback()
    assert dep.traffic == {models["v1"]: 100.0}
    os.kill(pid_of(dep, models["v1"]), signal.SIGKILL)
    status, headers, body = post(dep.url, BODY)
    assert status == 503 and headers["x-mlops-version"] == models["v1"]
    error = json.loads(body)
    assert error["error_code"] == "VERSION_UNAVAILABLE" and error["version"] == models["v1"]
    wait_until(lambda: post(dep.url, BODY)[0] == 200, 60, "the restart of v1")


def test_every_answered_request_is_in_the_log_after_a_stop(dep, models, module_ws):
    ids = []
    for i in range(40):
        request_id = f"check-{i}"
        status, _, _ = post(dep.url, BODY, {"x-request-id": request_id})
        if status == 200:
            ids.append(request_id)
    dep.stop()
    logged = dep.predictions()
    answered = set(logged.loc[logged["status"] == 200, "request_id"])
    assert set(ids) <= answered and len(ids) == 40


def test_a_deployment_outlives_whoever_started_it(dep, models, module_ws):
    dep.start()
    first_pid = dep._row()["router_pid"]
    # a "restarted server": a new Workspace object, nothing shared in memory
    fresh = Workspace.resolve(module_ws.root)
    again = get_deployment("sturdy", workspace=fresh)
    assert again.status == "running"
    assert reconcile(workspace=fresh) == [{"deployment": "sturdy", "action": "attached",
                                           "pid": first_pid}]
    # the router dies hard: the DB still says running, nobody answers
    server_pid = pid_of(again, models["v1"])
    os.kill(first_pid, signal.SIGKILL)
    wait_until(lambda: again.status == "down", 10, "status down")
    report = reconcile(workspace=fresh, wait=True)
    assert report[0]["action"] == "restarted"
    assert again.status == "running" and again._row()["router_pid"] != first_pid
    assert again.url == dep.url and post(again.url, BODY)[0] == 200
    # the model server of the dead router died with it (no orphan holding a port)
    wait_until(lambda: not pid_alive(server_pid), 10, "the orphan to exit")
    fresh.close()
