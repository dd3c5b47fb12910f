"""The deployment routes through the real Jupyter server (pytest-jupyter's jp_fetch), with
real model servers and routers on 127.0.0.1.

Two small pyfunc versions of `churn` are registered in the server's own
workspace (v1 answers 0, v2 answers 1: any disagreement of a shadow is
visible); the deployment is then created, rolled out as a canary, rolled
back, shadowed, promoted, stopped and deleted over REST, and predictions go
through its URL as a client's would. Every deployment a test starts is
stopped when it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlops_rest import call

from jupyter_mlops.core.deploy import deployments
from jupyter_mlops.core.deploy.demo_models import register_constant_model
from jupyter_mlops.core.deploy.loadgen import post
from jupyter_mlops.core.deploy.service import free_port
from jupyter_mlops.core.deploy.targets.local import pid_alive
from jupyter_mlops.core.workspace import Workspace

BODY = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}).encode()


def stop_all(ws: Workspace) -> None:
    """No router or model server outlives a test."""
    for dep in deployments(workspace=ws):
        if dep._alive():
            dep.stop()


@pytest.fixture
def workspace(jp_root_dir: Path) -> Iterator[Workspace]:
    ws = Workspace.resolve(jp_root_dir)
    yield ws
    stop_all(ws)
    ws.close()


@pytest.fixture
def models(workspace: Workspace) -> dict[str, str]:
    v1 = register_constant_model(workspace, value=0, alias="champion")
    v2 = register_constant_model(workspace, value=1, alias="challenger")
    return {"v1": f"churn/{v1}", "v2": f"churn/{v2}"}


async def predict(url: str, times: int = 1, headers: dict[str, str] | None = None) -> list[str]:
    """POST /invocations through the deployment's URL; the versions that answered."""
    answered = []
    for _ in range(times):
        status, answer_headers, body = await asyncio.to_thread(post, url, BODY, headers)
        assert status == 200, body
        answered.append(answer_headers["x-mlops-version"])
    return answered


async def wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.25)


@pytest.mark.slow
@pytest.mark.usefixtures("jp_serverapp")
async def test_deploy_canary_rollback_shadow_promote_stop(jp_fetch, workspace, models) -> None:
    v1, v2 = models["v1"], models["v2"]
    code, dep = await call(jp_fetch, "deployments", method="POST",
                           body={"model": "churn@champion", "name": "churn-api"})
    assert code == 201, dep
    assert dep["status"] == "running" and dep["traffic"] == {v1: 100.0}
    assert dep["url"].startswith("http://127.0.0.1:") and dep["target"] == "local"
    assert dep["strategy"]["kind"] == "single" and dep["rollout"] is None
    assert await predict(dep["url"], 2) == [v1, v1]

    code, listing = await call(jp_fetch, "deployments", params={"model": "churn"})
    assert code == 200 and [d["name"] for d in listing["deployments"]] == ["churn-api"]
    assert {"local", "docker"} <= set(listing["targets"])
    code, listing = await call(jp_fetch, "deployments", params={"model": "fraud"})
    assert listing["deployments"] == []

    # a port in use is a 409 naming it; an unknown model a 404 listing the models
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, error = await call(jp_fetch, "deployments", method="POST",
                                 body={"model": "churn@champion", "name": "clash", "port": port})
    assert code == 409 and f"Port {port} is already in use" in error["message"]
    assert error["details"]["port"] == port
    code, error = await call(jp_fetch, "deployments", method="POST",
                             body={"model": "frod@champion"})
    assert code == 404 and "'frod'" in error["message"] and "churn" in error["message"]
    code, error = await call(jp_fetch, "deployments", "churn-api", "strategy", method="POST",
                             body={"strategy": {"kind": "ab", "steps": [5, 100]},
                                   "model": "churn@challenger"})
    assert code == 400 and "takes weights, sticky_header; not steps" in error["message"]
    code, error = await call(jp_fetch, "deployments", "churn-api", "strategy", method="POST",
                             body={"strategy": {"kind": "canary", "steps": [50, 10]},
                                   "model": "churn@challenger"})
    assert code == 400 and "steps must rise" in error["message"]

    # canary: 10 % to the challenger, baking long enough not to step during the test
    code, dep = await call(jp_fetch, "deployments", "churn-api", "strategy", method="POST",
                           body={"strategy": {"kind": "canary", "steps": [10, 50, 100],
                                              "bake": 600},
                                 "model": "churn@challenger"})
    assert code == 200, dep
    assert dep["traffic"] == {v1: 90.0, v2: 10.0}
    rollout = dep["rollout"]
    assert rollout["kind"] == "canary" and rollout["state"] == "running"
    assert rollout["candidate"] == v2 and rollout["stable"] == v1
    assert rollout["steps"] == [10.0, 50.0, 100.0] and rollout["step"] == 0
    assert rollout["weight"] == 10.0 and rollout["bake_s"] == 600.0
    assert 500 < rollout["bake_remaining_s"] <= 600
    assert dep["strategy"]["text"] == "canary 10→50→100 % (bake 600 s)"
    served = Counter(await predict(dep["url"], 40))
    assert served == {v1: 36, v2: 4}  # smooth weighted round robin: exact shares

    code, health = await call(jp_fetch, "deployments", "churn-api", "health")
    assert code == 200 and health["status"] == "running"
    figures = {v["key"]: v for v in health["versions"]}
    assert figures[v1]["live"] and figures[v1]["healthy"] and figures[v2]["role"] == "candidate"
    assert figures[v1]["requests"] >= 36 and figures[v2]["requests"] >= 4
    assert figures[v1]["p50_ms"] > 0 and figures[v1]["p95_ms"] >= figures[v1]["p50_ms"]
    assert figures[v1]["error_rate"] == 0.0 and figures[v1]["rate_per_s"] > 0

    code, dep = await call(jp_fetch, "deployments", "churn-api", "rollback", method="POST",
                           body={"reason": "rolled back by the route test"})
    assert code == 200 and dep["traffic"] == {v1: 100.0}
    assert dep["rollout"]["state"] == "rolled_back"
    assert dep["rollout"]["reason"] == "rolled back by the route test"
    assert dep["rollout"]["bake_remaining_s"] is None
    assert set(await predict(dep["url"], 5)) == {v1}

    # shadow: the champion answers, the challenger's mirrored answers are compared
    code, dep = await call(jp_fetch, "deployments", "churn-api", "strategy", method="POST",
                           body={"strategy": {"kind": "shadow"}, "model": "churn@challenger"})
    assert code == 200 and dep["strategy"]["kind"] == "shadow"
    assert dep["traffic"] == {v1: 100.0, v2: 0.0}
    assert set(await predict(dep["url"], 10)) == {v1}

    async def compared():
        code, comparison = await call(jp_fetch, "deployments", "churn-api", "shadow")
        assert code == 200, comparison
        return comparison if comparison["requests"] >= 10 else None

    comparison = await wait_for(compared, what="10 mirrored requests in the log")
    assert comparison["champion"] == v1 and comparison["challenger"] == v2
    assert comparison["agreement_rate"] == 0.0, comparison
    assert comparison["mean_abs_diff"] == 1.0, comparison
    assert comparison["rows"] == 2 * comparison["requests"]

    # recent predictions, newest first, paged
    code, page = await call(jp_fetch, "deployments", "churn-api", "predictions",
                            params={"limit": 5, "shadow": "false"})
    assert code == 200 and len(page["predictions"]) == 5 and page["next_before"]
    stamps = [p["ts"] for p in page["predictions"]]
    assert stamps == sorted(stamps, reverse=True)
    first = page["predictions"][0]
    assert first["version"] == v1 and first["status"] == 200 and not first["shadow"]
    assert json.loads(first["request"])["dataframe_split"]["columns"] == ["x"]
    assert json.loads(first["response"]) == {"predictions": [{"0": 0}, {"0": 0}]}
    code, older = await call(jp_fetch, "deployments", "churn-api", "predictions",
                             params={"limit": 5, "shadow": "false",
                                     "before": page["next_before"]})
    assert code == 200 and len(older["predictions"]) == 5
    assert max(p["ts"] for p in older["predictions"]) < min(stamps)
    code, mirrored = await call(jp_fetch, "deployments", "churn-api", "predictions",
                                params={"shadow": "true"})
    assert mirrored["predictions"] and {p["version"] for p in mirrored["predictions"]} == {v2}

    code, dep = await call(jp_fetch, "deployments", "churn-api", "promote", method="POST")
    assert code == 200 and dep["traffic"] == {v2: 100.0}
    assert {v["key"]: v["role"] for v in dep["versions"]} == {v1: "standby", v2: "stable"}
    assert set(await predict(dep["url"], 3)) == {v2}

    code, events = await call(jp_fetch, "deployments", "churn-api", "events",
                              params={"limit": 3})
    assert code == 200 and len(events["events"]) == 3 and events["next_before_id"]
    code, more = await call(jp_fetch, "deployments", "churn-api", "events",
                            params={"before_id": events["next_before_id"]})
    kinds = [e["kind"] for e in events["events"] + more["events"]]
    assert kinds[0] == "promote" and "rollback" in kinds and "created" in kinds
    code, logs = await call(jp_fetch, "deployments", "churn-api", "logs", params={"tail": 20})
    assert code == 200 and "== router (churn-api) ==" in logs["text"]

    # deploying to an existing name rolls the model out there (200, not a new deployment)
    code, dep = await call(jp_fetch, "deployments", method="POST",
                           body={"model": v1, "name": "churn-api",
                                 "strategy": {"kind": "blue_green"}})
    assert code == 200 and dep["strategy"]["kind"] == "blue_green"
    assert {v["key"]: v["role"] for v in dep["versions"]} == {v1: "candidate", v2: "stable"}
    assert dep["traffic"] == {v2: 100.0, v1: 0.0}

    code, dep = await call(jp_fetch, "deployments", "churn-api", "stop", method="POST")
    assert code == 200 and dep["status"] == "stopped"
    with pytest.raises(OSError):
        await asyncio.to_thread(post, dep["url"], BODY, None, "/invocations", 2.0)
    code, gone = await call(jp_fetch, "deployments", "churn-api", method="DELETE")
    assert code == 200 and gone == {"name": "churn-api", "stopped": False, "purged": False}
    code, error = await call(jp_fetch, "deployments", "churn-api")
    assert code == 404 and "Deployments: none yet." in error["message"]


@pytest.mark.usefixtures("jp_serverapp")
async def test_bad_input_gets_a_clear_4xx(jp_fetch, workspace) -> None:
    code, error = await call(jp_fetch, "deployments", "nope")
    assert code == 404
    assert error["message"] == "No deployment named 'nope'. Deployments: none yet."
    assert error["details"]["deployments"] == []
    code, error = await call(jp_fetch, "deployments", "Not_A_Name!")
    assert code == 400 and "Invalid deployment name" in error["message"]
    code, error = await call(jp_fetch, "deployments", method="POST", body={})
    assert code == 400 and error["details"][0]["field"] == "model"
    code, error = await call(jp_fetch, "deployments", method="POST",
                             body={"model": "churn@champion", "target": "k8s"})
    assert code == 400 and "Unknown deploy target 'k8s'" in error["message"]
    assert "local" in error["message"]
    code, error = await call(jp_fetch, "deployments", method="POST",
                             body={"model": "churn", "port": 70000})
    assert code == 400 and error["details"][0]["field"] == "port"
    code, error = await call(jp_fetch, "deployments", method="POST",
                             body={"model": "churn", "replicas": 3})
    assert code == 400 and error["details"][0]["field"] == "replicas"
    code, error = await call(jp_fetch, "deployments", method="POST",
                             body={"model": "churn", "strategy": {"kind": "rainbow"}})
    assert code == 400 and error["details"][0]["field"] == "strategy.kind"
    code, error = await call(jp_fetch, "deployments", "nope", "rollback", method="POST")
    assert code == 404
    code, error = await call(jp_fetch, "deployments", "nope", "predictions",
                             params={"limit": 0})
    assert code == 400 and error["details"][0]["field"] == "limit"
    code, error = await call(jp_fetch, "deployments", "nope", "promote", method="POST",
                             body="[1]")
    assert code == 400 and "JSON object" in error["message"]


# -- re-attaching at server start: real `jupyter server` processes on one root ----------------
class Server:
    """A `jupyter server` subprocess on `root`, and JSON requests to its deployment routes."""

    def __init__(self, root: Path) -> None:
        self.port, self.token = free_port(), "reconcile-test"
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
        self.log = open(root.parent / f"server-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "server", f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
             "--ServerApp.allow_root=True"], env=env, cwd=root, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.call("GET", "config")[0] == 200:
                    break
            except OSError:
                pass
            assert self.process.poll() is None, "the server exited at start"
            assert time.monotonic() < deadline, "the server did not answer within 90 s"
            time.sleep(0.25)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base}/jupyter-mlops/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """The reconciliation runs in the background: its outcome shows in the server log."""
        deadline = time.monotonic() + timeout
        while text not in Path(self.log.name).read_text():
            assert self.process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, f"the server never logged {text!r}"
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


@pytest.mark.slow
def test_a_new_server_re_attaches_and_restarts_deployments(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    ws = Workspace.resolve(root)
    version = "churn/" + register_constant_model(ws, value=0, alias="champion")
    servers: list[Server] = []
    try:
        first = Server(root)
        servers.append(first)
        code, dep = first.call("POST", "deployments", {"model": "churn@champion",
                                                       "name": "survivor"})
        assert code == 201, dep
        url, router = dep["url"], dep["router_pid"]
        assert post(url, BODY)[0] == 200
        # the server stops, its deployments keep serving (separate processes)
        first.stop()
        status, headers, _ = post(url, BODY)
        assert status == 200 and headers["x-mlops-version"] == version

        # a new server while the router runs: attached, untouched
        second = Server(root)
        servers.append(second)
        second.wait_for_log("deployment survivor attached")
        assert second.call("GET", "deployments/survivor")[1]["router_pid"] == router
        second.stop()

        # the router dies hard while no server runs (a crash, a reboot): the next server
        # start brings it back on its own port, without delaying its own start
        os.kill(router, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while pid_alive(router):
            assert time.monotonic() < deadline, "the router did not die"
            time.sleep(0.1)
        with pytest.raises(OSError):
            post(url, BODY, timeout=2.0)
        third = Server(root)
        servers.append(third)
        deadline = time.monotonic() + 120
        while True:
            code, dep = third.call("GET", "deployments/survivor")
            if dep["status"] == "running" and dep["router_pid"] not in (None, router):
                break
            assert dep["status"] != "failed", dep
            assert time.monotonic() < deadline, f"not restarted: {dep}"
            time.sleep(0.5)
        assert dep["url"] == url
        status, headers, _ = post(url, BODY)
        assert status == 200 and headers["x-mlops-version"] == version
        code, events = third.call("GET", "deployments/survivor/events")
        assert [e["kind"] for e in events["events"]].count("started") == 2
        code, dep = third.call("POST", "deployments/survivor/stop")
        assert code == 200 and dep["status"] == "stopped"
    finally:
        for server in servers:
            server.stop()
        stop_all(ws)
        ws.close()
