"""The drift routes through the real Jupyter server (pytest-jupyter's jp_fetch).

Dataset versions are snapshotted in-process on the server's own workspace
(its root_dir), as a notebook in that folder would; the checks are then made,
listed and drawn over REST.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlops_rest import call

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def versions(jp_root_dir: Path, monkeypatch):
    """Two versions of `sales` (amount shifted, region stable) and an empty dataset."""
    monkeypatch.delenv(objects.ENV_OBJECTS_URL, raising=False)
    ws = Workspace.resolve(jp_root_dir)
    rng = np.random.default_rng(0)
    n = 3000
    ref = pd.DataFrame({"amount": rng.normal(10, 2, n), "region": rng.choice(list("NSEW"), n)})
    cur = pd.DataFrame({"amount": rng.normal(13, 2, n), "region": rng.choice(list("NSEW"), n)})
    v1 = D.snapshot(ref, "sales", tags=["baseline"], workspace=ws)
    v2 = D.snapshot(cur, "sales", workspace=ws)
    D.snapshot(pd.DataFrame({"amount": pd.Series([], dtype=float)}), "empty", workspace=ws)
    yield v1, v2
    ws.close()


async def test_a_check_is_run_kept_listed_and_drawn(jp_fetch, versions) -> None:
    v1, v2 = versions
    code, check = await call(jp_fetch, "drift", method="POST",
                             body={"reference": "sales@baseline", "current": "sales",
                                   "tests": {"region": "psi"}, "thresholds": {"psi": 0.2}})
    assert code == 201, check
    assert check["reference"] == f"sales@{v1.short}" and check["current_version"] == v2.version
    assert check["origin"] == "rest" and check["drifted_columns"] == ["amount"]
    assert check["n_drifted"] == 1 and check["share"] == 0.5 and check["drifted"] is True
    columns = {c["name"]: c for c in check["report"]["columns"]}
    assert columns["amount"]["test"] == "wasserstein" and columns["amount"]["drifted"] is True
    assert columns["amount"]["score"] == columns["amount"]["statistic"]
    assert columns["region"]["test"] == "psi" and columns["region"]["threshold"] == 0.2
    assert columns["amount"]["summary"]["kind"] == "histogram"
    assert check["report"]["headline"].startswith("Dataset drift detected")
    assert check["report"]["options"]["reference_columns_read"] == ["amount"]

    code, again = await call(jp_fetch, "drift/checks", str(check["id"]))
    assert code == 200 and again["report"]["columns"] == check["report"]["columns"]

    await call(jp_fetch, "drift", method="POST",
               body={"reference": "empty", "current": "empty"})
    code, listing = await call(jp_fetch, "drift/checks", params={"dataset": "sales"})
    assert code == 200 and [c["id"] for c in listing["checks"]] == [check["id"]]
    assert "report" not in listing["checks"][0]
    code, everything = await call(jp_fetch, "drift/checks", params={"limit": 1})
    assert len(everything["checks"]) == 1 and everything["next_before_id"] is not None

    code, figure = await call(jp_fetch, "drift/checks", str(check["id"]), "figure",
                              params={"column": "amount"})
    assert code == 200
    assert [t["name"] for t in figure["data"]] == ["reference", "current"]
    assert "amount" in figure["layout"]["title"]["text"]
    code, overview = await call(jp_fetch, "drift/checks", str(check["id"]), "figure")
    assert [t["name"] for t in overview["data"]] == ["score", "threshold"]

    response = await jp_fetch("jupyter-mlops", "drift/checks", str(check["id"]), "html",
                              params={"download": "true"})
    assert response.headers["Content-Type"].startswith("text/html")
    assert "attachment" in response.headers["Content-Disposition"]
    policy = response.headers["Content-Security-Policy"]  # its scripts run, sandboxed
    assert "sandbox allow-scripts" in policy and "default-src 'none'" not in policy
    page = response.body.decode()
    assert page.startswith("<!DOCTYPE html>") and "Dataset drift detected" in page
    assert "plotly" in page.lower() and len(page) > 1_000_000  # plotly.js inlined: offline


async def test_empty_versions_are_reported_not_failed(jp_fetch, versions) -> None:
    code, check = await call(jp_fetch, "drift", method="POST",
                             body={"reference": "empty", "current": "empty"})
    assert code == 201, check
    assert check["n_evaluated"] == 0 and check["share"] is None and check["drifted"] is False
    assert check["report"]["columns"][0]["reason"] == "no rows in reference"


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"reference": "nope", "current": "sales"}, 404, "No dataset named 'nope'"),
    ({"reference": "sales@v9", "current": "sales"}, 404, "has no version 'v9'"),
    ({"reference": "sales", "current": "sales", "tests": {"missing": "psi"}}, 400,
     "tests: 'missing' is not a column"),
    ({"reference": "sales", "current": "sales", "tests": {"amount": "magic"}}, 400,
     "tests."),
    ({"reference": "sales", "current": "sales", "columns": ["nope"]}, 400,
     "columns not in either frame"),
    ({"reference": "sales", "current": "sales", "thresholds": {"nope": 0.1}}, 400,
     "neither a column nor a test"),
    ({"reference": "sales", "current": "sales", "drift_share": 0}, 400, "drift_share"),
    ({"reference": "../etc", "current": "sales"}, 400, "looks like a path"),
    ({"reference": "sales"}, 400, "current: Field required"),
    ({"reference": "sales", "current": "sales", "colour": "red"}, 400, "colour: Extra inputs"),
])
async def test_bad_input_gets_a_clear_answer(jp_fetch, versions, body, status, needle) -> None:
    code, error = await call(jp_fetch, "drift", method="POST", body=body)
    assert code == status, error
    assert needle in error["message"]
    assert "Traceback" not in json.dumps(error)


async def test_unknown_checks_and_columns_are_404(jp_fetch, versions) -> None:
    code, error = await call(jp_fetch, "drift/checks/4242")
    assert code == 404 and "No drift check 4242" in error["message"]
    code, check = await call(jp_fetch, "drift", method="POST",
                             body={"reference": "sales@baseline", "current": "sales"})
    code, error = await call(jp_fetch, "drift/checks", str(check["id"]), "figure",
                             params={"column": "nope"})
    assert code == 404 and "no column 'nope'" in error["message"]
    code, error = await call(jp_fetch, "drift/checks", params={"limit": 0})
    assert code == 400 and "limit" in error["message"]


async def test_the_capability_is_served(jp_fetch) -> None:
    code, config = await call(jp_fetch, "config")
    drift = next(c for c in config["capabilities"] if c["id"] == "drift")
    assert drift["available"] is True


async def test_a_deployment_window_is_a_current_side(jp_fetch, versions, jp_root_dir) -> None:
    """The router's own log writer fills the server workspace's log; REST reads a window."""
    import time

    from jupyter_mlops.core.deploy.predictions import PredictionLog, deployment_log_dir

    ws = Workspace.resolve(jp_root_dir)
    log = PredictionLog(deployment_log_dir(ws.predictions_dir, "sales-api"))
    rng = np.random.default_rng(5)
    for i in range(30):
        rows = [{"amount": float(a), "region": "N"} for a in rng.normal(16, 2, 20)]
        log.append(time.time() - 60, f"r{i}", "m/1", "stable", 200, 1.0, False,
                   "application/json", json.dumps({"dataframe_records": rows}).encode(),
                   json.dumps({"predictions": [1] * 20}).encode(), None)
    log.flush()
    code, check = await call(jp_fetch, "drift", method="POST",
                             body={"reference": "sales@baseline",
                                   "current": "deployment:sales-api@1h"})
    assert code == 201, check
    assert check["current"] == "deployment:sales-api@1h"
    assert check["current_dataset"] == "deployment:sales-api"
    assert "amount" in check["drifted_columns"]
    code, err = await call(jp_fetch, "drift", method="POST",
                           body={"reference": "sales@baseline", "current": "deployment:nope@1h"})
    assert code == 404 and "nope" in err["message"]
