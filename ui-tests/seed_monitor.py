"""Seed a drift alert in a workspace, through the real stack, for the browser and client tests.

    python ui-tests/seed_monitor.py ROOT PREFIX

Snapshots a reference table, registers a constant model, deploys it on
127.0.0.1, sends 300 rows whose `amount` is shifted, stops the deployment
(its prediction log is flushed on the graceful stop), creates a monitor with
that reference and checks it once: the check drifts and raises an alert.
Prints {"alert_id", "monitor", "deployment", "drift_check_id", "check_id"} as JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd


def main(root: str, prefix: str) -> dict:
    from jupyter_mlops.core import datasets as D
    from jupyter_mlops.core.deploy import deploy
    from jupyter_mlops.core.deploy.demo_models import register_constant_model
    from jupyter_mlops.core.deploy.loadgen import post
    from jupyter_mlops.core.monitor import monitor
    from jupyter_mlops.core.workspace import Workspace

    ws = Workspace.resolve(root)
    rng = np.random.default_rng(0)
    D.snapshot(pd.DataFrame({"amount": rng.normal(10, 2, 2000),
                             "region": rng.choice(list("NSEW"), 2000)}),
               f"{prefix}-reference", workspace=ws)
    version = register_constant_model(ws, f"{prefix}-model", value=1.0)
    dep = deploy(f"{prefix}-model/{version}", name=f"{prefix}-api", workspace=ws)
    try:
        for _ in range(6):
            rows = [[float(v), str(r)] for v, r in zip(rng.normal(14, 2, 50),
                                                       rng.choice(list("NSEW"), 50))]
            body = json.dumps({"dataframe_split": {"columns": ["amount", "region"],
                                                   "data": rows}}).encode()
            status, _, answer = post(dep.url, body)
            if status != 200:
                raise SystemExit(f"the deployment answered {status}: {answer!r}")
        deadline = time.monotonic() + 30
        while len(dep.prediction_frame()) < 300 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        dep.stop()
    m = monitor(f"{prefix}-api", reference=f"{prefix}-reference", name=f"{prefix}-monitor",
                schedule="0 0 1 1 *", window="1d", min_rows=100, workspace=ws)
    check = m.check()
    if check.alert_id is None:
        raise SystemExit(f"the seeded check raised no alert: {check!r}")
    ws.close()
    return {"alert_id": check.alert_id, "monitor": m.name, "deployment": m.deployment,
            "drift_check_id": check.drift_check_id, "check_id": check.id}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
