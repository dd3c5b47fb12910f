"""Canary rollouts on real model servers under constant load: one that steps up and is
promoted, and one whose injected errors roll it back automatically."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from jupyter_mlops.core.deploy import deploy
from jupyter_mlops.core.deploy.demo_models import (
    register_constant_model,
    register_faulty_model,
)
from jupyter_mlops.core.deploy.loadgen import Load
from jupyter_mlops.core.deploy.targets.local import pid_alive
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.workspace import Workspace


pytestmark = pytest.mark.slow

BODY = json.dumps({"dataframe_records": [{"x": 1.0}, {"x": 2.0}]}).encode()


@pytest.fixture(scope="module")
def models(module_ws: Workspace) -> dict[str, str]:
    return {"v1": "churn/" + register_constant_model(module_ws, value=False),
            "v2": "churn/" + register_constant_model(module_ws, value=True),
            "bad": "churn/" + register_faulty_model(module_ws, share=1.0)}


@pytest.fixture(scope="module")
def dep(module_ws: Workspace, models: dict[str, str]) -> Iterator:
    deployment = deploy(models["v1"], name="canary-api", workspace=module_ws)
    yield deployment
    deployment.stop()


def test_a_healthy_canary_steps_up_and_is_promoted(dep, models, module_ws):
    load = Load(dep.url, BODY)
    load.start()
    try:
        # latency margins wide: a busy test machine must not make a healthy canary regress
        dep.set_strategy("canary", model=models["v2"], steps=[20, 50, 100], bake=1.5,
                         min_requests=5, max_latency_increase=4, latency_slack_ms=100)
        first = dep.traffic  # 20 %, or 50 % already on a slow machine
        assert first[models["v2"]] in (20.0, 50.0) and sum(first.values()) == 100.0
        rollout = dep.wait_rollout(timeout=90)
    finally:
        load.stop()
    assert rollout["state"] == "promoted", rollout.get("reason")
    steps = [h.get("weight") for h in rollout["history"]]
    assert steps == [20.0, 50.0, 100.0]
    assert load.failures == [] and {s for s, _ in load.results} == {200}
    served = Counter(v for _, v in load.results)
    assert served[models["v1"]] > 0 and served[models["v2"]] > 0
    assert dep.traffic == {models["v2"]: 100.0}
    roles = {v.key: v.role for v in dep.versions}
    assert roles == {models["v2"]: "stable", models["v1"]: "standby"}
    kinds = [e.kind for e in list_events(module_ws, kind="deploy")]
    assert "deploy.canary_step" in kinds and "deploy.promote" in kinds


def test_a_failing_canary_is_rolled_back_automatically(dep, models, module_ws):
    load = Load(dep.url, BODY)
    load.start()
    try:
        dep.set_strategy("canary", model=models["bad"], steps=[25, 50, 100], bake=60,
                         min_requests=5)
        rollout = dep.wait_rollout(timeout=60)
    finally:
        load.stop()
    assert rollout["state"] == "rolled_back" and rollout["automatic"] is True, rollout
    assert "error rate" in rollout["reason"]
    assert dep.traffic == {models["v2"]: 100.0}
    # the callers saw the canary's 500s (named by the header) only until the rollback
    bad = [s for s, v in load.results if v == models["bad"]]
    assert bad and set(bad) == {500}
    assert load.failures == []
    after = [v for _, v in load.results[-5:]]
    assert set(after) == {models["v2"]}
    event = next(e for e in list_events(module_ws, kind="deploy.rollback"))
    assert event.data["automatic"] is True and event.data["from"] == models["bad"]
    assert event.data["analysis"]["canary"]["error_rate"] > 0.5
    # the rolled-back version is stopped once its last requests finished
    row = next(v for v in dep._row()["versions"] if v["key"] == models["bad"])
    assert row["role"] == "retired"
    import time

    deadline = time.monotonic() + 20
    while pid_alive(row["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(row["pid"])
