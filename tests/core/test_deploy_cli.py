"""`jupyter mlops deployments …` and `alerts` on a real workspace: a registered scikit-learn
model deployed through the CLI on 127.0.0.1 (a real router and model server), real HTTP
requests, the prediction log, a canary promoted and rolled back, a real drift alert
acknowledged, and a stop that leaves no process behind.

The commands run in-process through `jupyter_mlops.cli.main`, the entry point
(MLOpsError -> exit 1).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.deploy import get_deployment
from jupyter_mlops.core.deploy.demo_models import register_churn_model
from jupyter_mlops.core.deploy.targets.local import pid_alive
from jupyter_mlops.core.errors import NotFound
from jupyter_mlops.core.monitor import monitor
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.cli import main
from jupyter_mlops.examples import churn

pytestmark = pytest.mark.slow

NAME = "churn-api"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(module_ws: Workspace, capsys: pytest.CaptureFixture[str]) -> Run:
    """`jupyter mlops ARGS -w <workspace>` through the entry point: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*argv, "-w", str(module_ws.root)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def models(module_ws: Workspace) -> Iterator[dict[str, str]]:
    """Two registered versions; whatever the tests deployed is stopped at the end."""
    v1 = register_churn_model(module_ws, alias="champion")
    v2 = register_churn_model(module_ws, c=0.05, seed=1, alias="challenger")
    yield {"v1": f"churn/{v1}", "v2": f"churn/{v2}"}
    try:
        get_deployment(NAME, workspace=module_ws).stop()
    except NotFound:
        pass


def post(url: str, rows: int, seed: int, request_id: str | None = None,
         shift: float = 0.0) -> int:
    frame = churn.feature_matrix(churn.generate(rows, shift=shift, seed=seed))
    body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split",
                                                                  index=False))}).encode()
    headers = {"content-type": "application/json"}
    if request_id:
        headers["x-request-id"] = request_id
    request = urllib.request.Request(f"{url}/invocations", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["predictions"]
        return answer.status


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """The router flushes its prediction log every couple of seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} after {timeout:g} s"
        time.sleep(0.3)


def state(cli: Run, command: str = "status") -> dict:
    code, out, err = cli("deployments", command, *([NAME] if command == "status" else []),
                         "--json")
    assert code == 0, err
    return json.loads(out)


def test_deploy_then_list_and_status_show_it_serving_all_traffic(cli, models):
    code, out, err = cli("deployments", "deploy", NAME, "churn@champion")
    assert code == 0, err
    assert f"{NAME} running at http://127.0.0.1:" in out and f"{models['v1']} 100%" in out

    code, out, _ = cli("deployments", "list")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:4] == ["name", "status", "url", "strategy"]
    assert row.split()[:2] == [NAME, "running"] and f"{models['v1']} 100% healthy" in row
    listed = state(cli, "list")
    assert [d["name"] for d in listed] == [NAME] and listed[0]["traffic"] == {models["v1"]: 100.0}

    code, out, _ = cli("deployments", "status", NAME)
    assert code == 0
    assert out.startswith(f"{NAME}  running  http://127.0.0.1:")
    version_row = next(line for line in out.splitlines() if line.strip().startswith(models["v1"]))
    assert version_row.split()[1:4] == ["stable", "100%", "healthy"]
    assert "recent events:" in out and "created" in out
    detail = state(cli)
    assert detail["status"] == "running" and detail["health"][models["v1"]]["healthy"] is True
    assert detail["events"][-1]["kind"] == "created" and len(detail["events"]) <= 10


def test_predictions_lists_the_last_requests_sent_over_http(cli, models):
    url = state(cli)["url"]
    ids = [f"cli-{i}" for i in range(4)]
    for i, request_id in enumerate(ids):
        assert post(url, rows=2, seed=i, request_id=request_id) == 200

    def logged() -> list[dict]:
        code, out, err = cli("deployments", "predictions", NAME, "--last", "3", "--json")
        assert code == 0, err
        return json.loads(out)

    wait_for(lambda: [r["request_id"] for r in logged()] == ids[1:], "the requests not logged")
    rows = logged()
    assert {r["version"] for r in rows} == {models["v1"]} and {r["status"] for r in rows} == {200}
    assert all(r["latency_ms"] > 0 for r in rows)

    code, out, _ = cli("deployments", "predictions", NAME, "--last", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["time", "(UTC)", "request", "id"]
    assert [line.split()[2] for line in lines[1:]] == ids[1:]
    assert all(line.split()[3:5] == [models["v1"], "200"] for line in lines[1:])
    assert all(len(line.split()) == 6 for line in lines[1:])  # no error, not "nan"
    assert state(cli)["health"][models["v1"]]["requests"] >= 4  # the router's last minute


def test_a_drift_alert_is_listed_and_acknowledged(cli, models, module_ws):
    reference = D.snapshot(churn.feature_matrix(churn.generate(400, shift=1.0, seed=5)),
                           "churn-shifted", workspace=module_ws)
    m = monitor(NAME, reference=f"churn-shifted@{reference.version}", min_rows=150,
                drift_share=0.3, name="churn-cli-drift", workspace=module_ws)
    url = state(cli)["url"]
    for seed in range(4):
        post(url, rows=50, seed=100 + seed)
    wait_for(lambda: len(get_deployment(NAME, workspace=module_ws).prediction_frame()) >= 200,
             "the traffic not logged")
    check = m.check()
    assert check.status == "drift" and check.alert_id is not None, check

    code, out, _ = cli("alerts", "--open")
    row = out.splitlines()[1].split()
    assert code == 0 and row[:3] == [str(check.alert_id), "churn-cli-drift", NAME]
    assert "open" in row and "monthly_charges" in out
    code, out, _ = cli("alerts", "--json")
    assert code == 0 and json.loads(out)[0]["drifted_columns"] == check.drifted_columns

    code, out, _ = cli("alerts", "ack", str(check.alert_id), "--note", "retraining")
    assert code == 0 and out.startswith(f"alert {check.alert_id} of churn-cli-drift: "
                                        "acknowledged") and "(retraining)" in out
    assert cli("alerts", "--open") == (0, "no open alerts\n", "")
    code, out, _ = cli("alerts")
    assert "acknowledged" in out.splitlines()[1]
    code, _, err = cli("alerts", "ack", "9999")
    assert code == 1 and err.startswith("error: No alert 9999. Recent alerts: ")


def test_a_canary_is_shown_promoted_and_rolled_back(cli, models):
    code, _, err = cli("deployments", "deploy", NAME, "churn@challenger", "--strategy", "yolo")
    assert code == 1 and "Unknown strategy 'yolo'" in err
    code, out, err = cli("deployments", "deploy", NAME, "churn@challenger", "--strategy",
                         "canary", "--steps", "50", "--bake", "600")
    assert code == 0, err
    assert f"{models['v1']} 50%" in out and f"{models['v2']} 50% candidate" in out
    code, out, _ = cli("deployments", "status", NAME)
    assert f"rollout: canary of {models['v2']}: running, step 1/2 at 50% (steps 50→100)" in out
    assert "bake 600 s" in out

    code, out, err = cli("deployments", "promote", NAME, "--reason", "looks good")
    assert code == 0, err
    assert state(cli)["traffic"] == {models["v2"]: 100.0}
    code, out, err = cli("deployments", "rollback", NAME, "--reason", "not yet")
    assert code == 0 and f"{NAME} rolled back: {models['v1']} 100%" in out, err
    detail = state(cli)
    assert detail["traffic"] == {models["v1"]: 100.0}
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[:2] == ["rollback", "promote"] and "rollout" in kinds
    assert "not yet" in json.dumps(detail["events"][0])
    code, _, err = cli("deployments", "promote", NAME)  # nothing left to promote
    assert code == 1 and err.startswith("error: ")


def test_unknown_and_invalid_names_exit_1_naming_the_deployments(cli, models):
    for command in ("status", "stop", "predictions", "promote", "rollback"):
        code, out, err = cli("deployments", command, "nope")
        assert code == 1 and out == "", command
        assert err == f"error: No deployment named 'nope'. Deployments: {NAME}.\n", command
    code, _, err = cli("deployments", "status", "Bad Name")
    assert code == 1 and "Invalid deployment name" in err


def test_stop_ends_the_router_and_model_servers(cli, models):
    """The module's last test: it stops the deployment."""
    before = state(cli)
    serving = [before["router_pid"], *(v["pid"] for v in before["versions"]
                                       if v["state"] == "running")]
    assert len(serving) >= 2 and all(pid_alive(pid) for pid in serving)
    # after the rollback the canary's server may still be on its way out: it must go too
    pids = serving + [v["pid"] for v in before["versions"] if v["pid"] and v["pid"] not in serving]
    code, out, err = cli("deployments", "stop", NAME)
    assert code == 0 and out.startswith(f"{NAME} stopped"), err
    wait_for(lambda: not any(pid_alive(pid) for pid in pids), "processes still running", 10)
    code, out, _ = cli("deployments", "list")
    assert out.splitlines()[1].split()[:2] == [NAME, "stopped"]
    code, out, _ = cli("deployments", "predictions", NAME, "--last", "1")
    assert code == 0 and len(out.splitlines()) == 2  # the log outlives the deployment
