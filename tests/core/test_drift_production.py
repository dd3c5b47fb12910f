"""Drift in production: a deployment's prediction log as the current side, and concept
drift from labels. The log is written by the deployment's real writer (PredictionLog,
the class the router uses) into a real workspace; no model server is needed to test
how drift reads it (tests/core/test_deploy_*.py cover serving and logging end to end)."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.deploy.predictions import PredictionLog, deployment_log_dir
from jupyter_mlops.core.drift import concept_drift, list_checks
from jupyter_mlops.core.drift.deployment_side import parse_window
from jupyter_mlops.core.drift.sources import compare_sources
from jupyter_mlops.core.errors import InvalidInput, NotFound


def _log(ws, name: str, frame: pd.DataFrame, *, ts: float, batch: int = 10) -> None:
    log = PredictionLog(deployment_log_dir(ws.predictions_dir, name))
    for start in range(0, len(frame), batch):
        part = frame.iloc[start:start + batch]
        body = json.dumps({"dataframe_records": part.to_dict(orient="records")}).encode()
        answer = json.dumps({"predictions": [0] * len(part)}).encode()
        log.append(ts + start, f"r{start}", "churn/1", "stable", 200, 1.0, False,
                   "application/json", body, answer, None)
    log.flush()


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"tenure": rng.normal(12 + shift, 3, n),
                         "plan": rng.choice(["a", "b", "c"], n)})


def test_window_parsing():
    assert parse_window("500") == (500, None)
    assert parse_window(20) == (20, None)
    assert parse_window("90m")[1].total_seconds() == 5400
    assert parse_window("all") == (None, None)
    for bad in ("1y", "-3", "0", "soon"):
        with pytest.raises(InvalidInput):
            parse_window(bad)


def test_deployment_window_is_the_current_side(ws):
    D.snapshot(_frame(2000, 0, 1), "traffic-ref", workspace=ws)
    now = time.time()
    _log(ws, "prod-a", _frame(400, 0, 2), ts=now - 7200)   # two hours ago: like the reference
    _log(ws, "prod-a", _frame(400, 6, 3), ts=now - 600)    # ten minutes ago: shifted
    recent = compare_sources("traffic-ref", "deployment:prod-a@1h", workspace=ws)
    assert recent.options["current"] == "deployment:prod-a@1h"
    cols = {c.name: c for c in recent.columns}
    assert {"tenure", "plan"} <= set(cols)
    assert cols["tenure"].drifted
    assert not cols["plan"].drifted
    assert "_ts" not in cols and "_request_id" not in cols
    older = compare_sources("traffic-ref", "deployment:prod-a@400", workspace=ws)
    assert older.columns  # the last 400 requests are shifted too (the newest first)
    # recorded in the history under the deployment
    history = list_checks("deployment:prod-a", workspace=ws)
    assert history and history[0].current_version == "400"


def test_deployment_side_errors(ws):
    from jupyter_mlops.core.deploy import read_predictions

    with pytest.raises(NotFound, match="No deployment named 'ghost'"):
        compare_sources(_frame(50, 0, 1), "deployment:ghost@1h", workspace=ws)
    with pytest.raises(NotFound, match="No deployment named 'ghost'"):
        read_predictions("ghost", workspace=ws)  # a typo is not "no requests yet"
    _log(ws, "retired", _frame(20, 0, 1), ts=time.time() - 60)  # a log left, no deployment
    assert len(read_predictions("retired", workspace=ws)) > 0
    with pytest.raises(InvalidInput, match="window"):
        compare_sources(_frame(50, 0, 1), "deployment:prod-a@1year", workspace=ws)
    with pytest.raises(InvalidInput, match="deployment:<name>"):
        compare_sources(_frame(50, 0, 1), "deployment:", workspace=ws)


def test_concept_drift_flags_the_window_that_got_worse():
    rng = np.random.default_rng(0)
    n = 1000
    y = rng.integers(0, 2, n)
    pred = y.copy()
    wrong = rng.random(n) < np.where(np.arange(n) < 800, 0.05, 0.4)  # last fifth degrades
    pred[wrong] = 1 - pred[wrong]
    frame = pd.DataFrame({"y": y, "prediction": pred,
                          "ts": pd.date_range("2026-01-01", periods=n, freq="h")})
    report = concept_drift(frame, "y", windows=5, time="ts")
    assert report.metric == "accuracy"
    assert [w["degraded"] for w in report.windows] == [False, False, False, False, True]
    assert report.drifted
    assert report.windows[-1]["score"] == pytest.approx((~wrong[800:]).mean())
    daily = concept_drift(frame, "y", windows="7D", time="ts", metric="f1")
    assert daily.metric == "f1" and len(daily.windows) == 6
    assert report.figure().data[0].y[-1] == pytest.approx(report.windows[-1]["score"])
    assert json.loads(json.dumps(report.to_dict()))["drifted"] is True


def test_concept_drift_regression_and_bad_input():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 600)
    frame = pd.DataFrame({"y": y, "prediction": y + rng.normal(0, 0.1, 600)})
    report = concept_drift(frame, "y", windows=3, reference=frame.iloc[:200])
    assert report.metric == "rmse" and not report.drifted
    small = concept_drift(frame.iloc[:40], "y", windows=4, min_rows=30)
    assert all(w["degraded"] is None for w in small.windows) and not small.drifted
    with pytest.raises(InvalidInput, match="'label'"):
        concept_drift(frame, "label")
    with pytest.raises(InvalidInput, match="unknown metric"):
        concept_drift(frame, "y", metric="auc")
    with pytest.raises(InvalidInput, match="time="):
        concept_drift(frame, "y", windows="1D")
    with pytest.raises(InvalidInput, match="nothing to score"):
        concept_drift(frame.assign(y=np.nan), "y")
