"""The monitor, alert and timeline routes through the real Jupyter server.

A constant model is deployed on 127.0.0.1 in the server's own workspace (its
root_dir), sent shifted traffic over HTTP, and monitored over REST against a
snapshotted reference: the check alerts, the alert is listed, acknowledged,
the monitor muted, paused, listed in the timeline and deleted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlops_rest import call

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.usefixtures("jp_serverapp")

NEVER = "0 0 1 1 *"  # the in-server runner must not check during the test


@pytest.fixture
def served(jp_root_dir: Path, monkeypatch):
    """A reference snapshot and a running deployment that logged 300 shifted rows."""
    from jupyter_mlops.core.deploy import deploy
    from jupyter_mlops.core.deploy.demo_models import register_constant_model
    from jupyter_mlops.core.deploy.loadgen import post

    monkeypatch.delenv(objects.ENV_OBJECTS_URL, raising=False)
    ws = Workspace.resolve(jp_root_dir)
    rng = np.random.default_rng(0)
    D.snapshot(pd.DataFrame({"amount": rng.normal(10, 2, 2000),
                             "region": rng.choice(list("NSEW"), 2000)}), "sales",
               tags=["baseline"], workspace=ws)
    version = register_constant_model(ws, "const", value=1.0)
    dep = deploy(f"const/{version}", name="sales-api", workspace=ws)
    try:
        for _ in range(6):
            rows = [[float(v), str(r)] for v, r in zip(rng.normal(14, 2, 50),
                                                       rng.choice(list("NS"), 50))]
            body = json.dumps({"dataframe_split": {"columns": ["amount", "region"],
                                                   "data": rows}}).encode()
            status, _, answer = post(dep.url, body)
            assert status == 200, answer
        deadline = time.monotonic() + 20
        while len(dep.prediction_frame()) < 300 and time.monotonic() < deadline:
            time.sleep(0.3)
        yield dep
    finally:
        dep.stop()
        ws.close()


async def test_a_monitor_checks_alerts_and_is_managed_over_rest(jp_fetch, served) -> None:
    code, created = await call(jp_fetch, "monitors", method="POST", body={
        "deployment": "sales-api", "name": "sales-drift", "reference": "sales@baseline",
        "schedule": NEVER, "window": "1h", "min_rows": 100, "cooldown": "1h"})
    assert code == 201, created
    assert created["name"] == "sales-drift" and created["reference"] == "sales@baseline"
    assert created["last_check"] is None and created["next_check_at"]

    code, check = await call(jp_fetch, "monitors/sales-drift/check", method="POST", body="")
    assert code == 201, check
    assert check["status"] == "drift" and check["rows"] >= 300
    assert set(check["drifted_columns"]) == {"amount", "region"}
    assert check["alert_id"] is not None and check["drift_check_id"] is not None

    code, listing = await call(jp_fetch, "alerts", params={"status": "open"})
    assert code == 200 and [a["id"] for a in listing["alerts"]] == [check["alert_id"]]
    alert = listing["alerts"][0]
    assert alert["monitor"] == "sales-drift" and alert["deployment"] == "sales-api"

    code, acked = await call(jp_fetch, f"alerts/{alert['id']}/acknowledge", method="POST",
                             body={"note": "looking"})
    assert code == 200 and acked["status"] == "acknowledged" and acked["note"] == "looking"
    code, still = await call(jp_fetch, "alerts", params={"status": "active"})
    assert [a["status"] for a in still["alerts"]] == ["acknowledged"]

    code, second = await call(jp_fetch, "monitors/sales-drift/check", method="POST", body="")
    assert second["status"] == "drift" and second["alert_id"] is None
    assert second["message"] == f"incident open: alert {alert['id']}"

    code, history = await call(jp_fetch, "monitors/sales-drift/history", params={"limit": 1})
    assert code == 200 and [c["id"] for c in history["checks"]] == [second["id"]]
    assert history["next_before_id"] == second["id"]

    code, muted = await call(jp_fetch, "monitors/sales-drift/mute", method="POST",
                             body={"until": "2h"})
    assert code == 200 and muted["muted"] is True and muted["muted_until"]
    code, paused = await call(jp_fetch, "monitors/sales-drift", method="PATCH",
                              body={"paused": True})
    assert code == 200 and paused["paused"] is True
    code, one = await call(jp_fetch, "monitors/sales-drift")
    assert one["last_check"]["id"] == second["id"] and one["open_alert_id"] == alert["id"]
    code, every = await call(jp_fetch, "monitors", params={"deployment": "sales-api"})
    assert [m["name"] for m in every["monitors"]] == ["sales-drift"]

    code, page = await call(jp_fetch, "timeline", params={"kinds": "alert,drift_check"})
    assert code == 200 and page["unavailable"] == {}
    kinds = [i["kind"] for i in page["items"]]
    assert kinds.count("alert") == 1 and kinds.count("drift_check") == 2
    item = next(i for i in page["items"] if i["kind"] == "alert")
    assert item["ref"]["id"] == alert["id"] and item["status"] == "acknowledged"
    code, paged = await call(jp_fetch, "timeline", params={"limit": 1})
    assert len(paged["items"]) == 1 and paged["next_before"] == paged["items"][0]["time"]
    code, older = await call(jp_fetch, "timeline", params={"limit": 1,
                                                           "before": paged["next_before"]})
    assert older["items"][0]["time"] < paged["items"][0]["time"]

    code, deleted = await call(jp_fetch, "monitors/sales-drift", method="DELETE")
    assert code == 200 and deleted == {"name": "sales-drift", "deleted": True}
    code, gone = await call(jp_fetch, "monitors/sales-drift")
    assert code == 404 and "sales-drift" in gone["message"]
    code, kept = await call(jp_fetch, "alerts")
    assert [a["status"] for a in kept["alerts"]] == ["resolved"]


@pytest.mark.parametrize(("path", "method", "body", "status", "needle"), [
    ("monitors", "POST", {"deployment": "nope"}, 404, "No deployment named 'nope'"),
    ("monitors", "POST", {"deployment": "x", "colour": "red"}, 400, "colour"),
    ("monitors", "POST", {"deployment": "x", "min_rows": 0}, 400, "min_rows"),
    ("monitors/missing", "GET", None, 404, "No monitor named 'missing'"),
    ("monitors/missing/check", "POST", "", 404, "No monitor named 'missing'"),
    ("monitors/missing", "PATCH", {"paused": True}, 404, "missing"),
    ("monitors/missing/mute", "POST", {"until": "2h"}, 404, "missing"),
    ("alerts/424242/acknowledge", "POST", "", 404, "No alert 424242"),
    ("alerts", "GET", None, 400, "status"),
    ("timeline", "GET", None, 400, "Unknown timeline kind"),
    ("timeline", "GET", None, 400, "since"),
])
async def test_bad_requests_get_a_clear_4xx(jp_fetch, path, method, body, status,
                                            needle) -> None:
    params = {}
    if path == "alerts":
        params = {"status": "closed"}
    elif path == "timeline":
        params = {"kinds": "runs"} if "kind" in needle else {"since": "last tuesday"}
    code, answer = await call(jp_fetch, path, method=method, body=body, params=params)
    assert code == status, answer
    assert needle in json.dumps(answer)


async def test_an_empty_workspace_has_an_empty_timeline_and_no_alerts(jp_fetch) -> None:
    code, page = await call(jp_fetch, "timeline", params={"kinds": "alert,deployment,gate"})
    assert code == 200 and page == {"items": [], "next_before": None, "unavailable": {}}
    code, listing = await call(jp_fetch, "monitors")
    assert code == 200 and listing == {"monitors": []}


async def test_the_server_runs_monitors_unless_told_not_to_and_stops_them(
        jp_serverapp, jp_root_dir) -> None:
    import threading

    from jupyter_mlops.core.monitor.runner import MonitorRunner
    from jupyter_mlops.server.monitor_service import start_monitors

    app = jp_serverapp.web_app.settings["mlops_app"]
    runners = [h for h in app._background if isinstance(h, MonitorRunner)]
    assert len(runners) == 1 and runners[0].running
    assert runners[0].last_error is None

    app.run_monitors = False
    try:
        assert start_monitors(app, app.settings["mlops_workspace"]) is None
    finally:
        app.run_monitors = True

    await jp_serverapp.extension_manager.stop_all_extensions()
    assert not runners[0].running
    assert not [t for t in threading.enumerate() if t.name == "mlops-monitors"]
