"""Drift monitors on a real deployment: a churn model trained on a snapshotted dataset,
served by the local target on 127.0.0.1, sent real HTTP traffic (first like its training
data, then shifted), checked against its training data found through lineage.

The checks pass `now` explicitly, so cool-downs and schedules are tested without waiting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.deploy import deploy
from jupyter_mlops.core.deploy.loadgen import post
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.monitor import (
    acknowledge,
    alerts,
    get_monitor,
    monitor,
    monitors,
    run_due_monitors,
)
from jupyter_mlops.core.monitor.alerting import mute
from jupyter_mlops.core.monitor.spec import utcnow
from jupyter_mlops.core.pipelines import list_schedules, list_triggers
from jupyter_mlops.core.registry import register_model
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

pytestmark = pytest.mark.slow

PIPELINE = """\
name: retrain
parameters:
  deployment: {type: str, default: ""}
steps:
  - name: train
    notebook: train.ipynb
"""


def features(rows: int, *, shift: float = 0.0, seed: int = 0):
    return churn.feature_matrix(churn.generate(rows, shift=shift, seed=seed))


def send(url: str, frame, batch: int = 50) -> None:
    """Score `frame` through the router, `batch` rows per request."""
    for start in range(0, len(frame), batch):
        part = frame.iloc[start:start + batch]
        body = json.dumps({"dataframe_split": json.loads(part.to_json(orient="split",
                                                                      index=False))}).encode()
        status, _, answer = post(url, body)
        assert status == 200, answer


def wait_logged(dep, rows: int, timeout: float = 20.0) -> None:
    """The router flushes its prediction log every couple of seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(dep.prediction_frame()) >= rows:
            return
        time.sleep(0.3)
    raise AssertionError(f"fewer than {rows} rows logged after {timeout}s")


@pytest.fixture(scope="module")
def trained(module_ws: Workspace) -> dict[str, str]:
    """A model trained on a snapshotted dataset inside a run: the lineage a monitor follows."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    frame = churn.generate(1500, seed=0)
    x = churn.feature_matrix(frame)
    version = D.snapshot(x, "churn-features", tags=["training"], workspace=module_ws)
    model = LogisticRegression(max_iter=300).fit(x, np.asarray(frame[churn.TARGET]))
    mv = register_model(model, "churn", dataset=f"churn-features@{version.version}",
                        workspace=module_ws)
    other = D.snapshot(features(800, seed=3), "other-features", workspace=module_ws)
    return {"model": f"churn/{mv.version}", "reference": f"churn-features@{version.version}",
            "other": f"other-features@{other.version}"}


@pytest.fixture(scope="module")
def dep(module_ws: Workspace, trained) -> Iterator:
    (module_ws.root / "train.ipynb").write_text(json.dumps({
        "cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (module_ws.root / "retrain.pipeline.yaml").write_text(PIPELINE)
    deployment = deploy(trained["model"], name="churn-api", workspace=module_ws)
    yield deployment
    deployment.stop()


def test_reference_defaults_to_the_training_data_found_through_lineage(module_ws, dep,
                                                                       trained) -> None:
    m = monitor("churn-api", name="lineage-only", workspace=module_ws)
    assert m.reference is None and m.deployment == "churn-api"
    assert m.next_check_at is not None and m.next_check_at > utcnow()
    from jupyter_mlops.core.monitor.reference import resolve_reference

    resolved = resolve_reference(module_ws, "churn-api", None)
    assert resolved.ref == trained["reference"]
    assert resolved.via == f"lineage:{trained['model']}"
    assert "tenure_months" in (resolved.columns or [])
    m.delete()
    with pytest.raises(NotFound):
        get_monitor("lineage-only", workspace=module_ws)


def test_too_few_rows_is_insufficient_data_without_an_alert(module_ws, dep) -> None:
    m = monitor("churn-api", name="sparse", window="1h", min_rows=10_000, workspace=module_ws)
    check = m.check()
    assert check.status == "insufficient_data" and check.drifted is None
    assert check.alert_id is None and check.drift_check_id is None
    assert "min_rows=10000" in (check.message or "")
    assert alerts(monitor="sparse", workspace=module_ws) == []
    assert m.refresh().last_status == "insufficient_data"


def test_shifted_traffic_alerts_once_triggers_once_and_cools_down(module_ws, dep,
                                                                  trained) -> None:
    m = monitor("churn-api", name="churn-drift", window="1h", min_rows=200, cooldown="1h",
                on_drift="retrain.pipeline.yaml", workspace=module_ws)
    assert m.on_drift == "retrain.pipeline.yaml"
    subscribed = [s for s in list_schedules(module_ws, pipeline="retrain.pipeline.yaml")
                  if {"kind": "drift_alert", "subject": "churn-drift"} in (s.triggers or [])]
    assert len(subscribed) == 1

    # like the training data: no drift
    send(dep.url, features(400, seed=11))
    wait_logged(dep, 400)
    clean = m.check()
    assert clean.status == "ok" and clean.drifted is False, clean
    assert clean.rows >= 400 and clean.reference == trained["reference"]
    assert clean.drift_check_id is not None and clean.alert_id is None

    # the population shifts toward churn
    send(dep.url, features(1200, shift=1.0, seed=12))
    wait_logged(dep, 1600)
    now = utcnow()
    first = m.check(now=now)
    assert first.status == "drift" and first.drifted is True and first.alerted, first
    assert "monthly_charges" in first.drifted_columns
    open_alerts = alerts("open", monitor="churn-drift", workspace=module_ws)
    assert [a.id for a in open_alerts] == [first.alert_id]
    alert = open_alerts[0]
    assert alert.trigger_id is not None and alert.pipeline == "retrain.pipeline.yaml"
    assert alert.window_end == now and alert.window_start == now - timedelta(hours=1)

    # the trigger the scheduler will consume: exactly one, naming the drifted window
    triggers = [t for t in list_triggers(module_ws) if t.kind == "drift_alert"]
    assert len(triggers) == 1 and triggers[0].subject == "churn-drift"
    params = triggers[0].data["parameters"]
    assert params["deployment"] == "churn-api" and params["check_id"] == first.id
    assert params["window_end"] == now.isoformat()
    assert params["window_start"] == (now - timedelta(hours=1)).isoformat()
    assert set(params["drifted_columns"]) == set(first.drifted_columns)
    assert params["alert_id"] == alert.id

    # the same incident: counted, not raised again
    again = m.check(now=now + timedelta(minutes=10))
    assert again.status == "drift" and again.alert_id is None
    assert again.message == f"incident open: alert {alert.id}"
    assert len(alerts(monitor="churn-drift", workspace=module_ws)) == 1

    # acknowledged, then a clean window resolves the incident
    acked = acknowledge(alert.id, "retraining", workspace=module_ws)
    assert acked.status == "acknowledged" and acked.note == "retraining"
    assert acked.occurrences == 2
    later = now + timedelta(hours=3)  # the shifted traffic is out of the window
    resolved = m.check(now=later)
    assert resolved.status == "insufficient_data"  # nothing logged in that hour
    assert alerts("active", monitor="churn-drift", workspace=module_ws)[0].id == alert.id

    # drift again within the cool-down of the first alert: no second alert, no trigger
    from jupyter_mlops.core.monitor.check import _resolve_incident

    _resolve_incident(module_ws, {"id": m.id, "name": m.name}, now, first.id)
    assert alerts("resolved", monitor="churn-drift", workspace=module_ws)[0].id == alert.id
    cooling = m.check(now=now + timedelta(minutes=30))
    assert cooling.status == "drift" and cooling.alert_id is None
    assert (cooling.message or "").startswith("cool-down")
    assert len(alerts(monitor="churn-drift", workspace=module_ws)) == 1
    assert len([t for t in list_triggers(module_ws) if t.kind == "drift_alert"]) == 1

    kinds = [e.kind for e in list_events(module_ws, kind="monitor")]
    assert kinds.count("monitor.alert") == 1 and "monitor.acknowledged" in kinds
    from jupyter_mlops.core.drift import list_checks

    recorded = list_checks("deployment:churn-api", workspace=module_ws)
    assert recorded and recorded[0].origin == "monitor"
    assert recorded[0].current == "deployment:churn-api@1h"


def test_mute_holds_alerts_and_the_runner_checks_due_monitors_once(module_ws, dep,
                                                                    trained) -> None:
    m = monitor("churn-api", reference=trained["other"], name="muted", window=5000,
                min_rows=200, cooldown=0, schedule="*/5 * * * *", workspace=module_ws)
    assert m.window == "5000" and m.reference == trained["other"]
    mute("muted", "2h", workspace=module_ws)
    muted = get_monitor("muted", workspace=module_ws)
    assert muted.muted
    due_at = muted.next_check_at
    checks = run_due_monitors(module_ws, now=due_at)
    mine = [c for c in checks if c.monitor == "muted"]
    assert len(mine) == 1 and mine[0].status == "drift"
    assert (mine[0].message or "").startswith("muted until") and mine[0].alert_id is None
    assert [c for c in run_due_monitors(module_ws, now=due_at) if c.monitor == "muted"] == []
    after = get_monitor("muted", workspace=module_ws)
    assert after.next_check_at == due_at + timedelta(minutes=5)
    after.pause()
    assert [c for c in run_due_monitors(module_ws, now=due_at + timedelta(hours=1))
            if c.monitor == "muted"] == []
    assert get_monitor("muted", workspace=module_ws).paused
    assert len(get_monitor("muted", workspace=module_ws).history()) == 1
    names = [x.name for x in monitors(workspace=module_ws)]
    assert "muted" in names and names == sorted(names)


def test_bad_settings_are_refused_with_the_reason(module_ws, dep) -> None:
    with pytest.raises(NotFound, match="No deployment named 'nope'"):
        monitor("nope", workspace=module_ws)
    with pytest.raises(InvalidInput, match="cron"):
        monitor("churn-api", schedule="every minute", workspace=module_ws)
    with pytest.raises(InvalidInput, match="window"):
        monitor("churn-api", window="an hour", workspace=module_ws)
    with pytest.raises(InvalidInput, match="min_rows"):
        monitor("churn-api", min_rows=0, workspace=module_ws)
    with pytest.raises(NotFound):
        monitor("churn-api", reference="no-such-data@v1", workspace=module_ws)
    with pytest.raises(NotFound):
        acknowledge(999_999, workspace=module_ws)


def test_the_timeline_shows_the_deployment_the_checks_and_the_alert(module_ws, dep) -> None:
    from jupyter_mlops.core.timeline import timeline

    items = timeline(kinds=["deployment", "alert", "drift_check", "event"], workspace=module_ws)
    alert = next(i for i in items if i.kind == "alert" and i.subject == "churn-drift")
    assert alert.ref["kind"] == "alert" and alert.ref["monitor"] == "churn-drift"
    assert alert.ref["drift_check_id"] is not None and alert.status == "resolved"
    deployed = [i for i in items if i.kind == "deployment" and i.subject == "churn-api"]
    assert deployed and deployed[-1].ref == {"kind": "deployment", "name": "churn-api"}
    assert any(i.kind == "drift_check" and i.detail["origin"] == "monitor" for i in items)
    assert not any(i.kind == "event" and i.status == "monitor.alert" for i in items)
    assert any(i.kind == "event" and i.status == "monitor.acknowledged" for i in items)


def test_the_magics_create_check_list_and_acknowledge(module_ws, dep, monkeypatch) -> None:
    import jupyter_mlops
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.core.monitor.records import MonitorCheck
    from jupyter_mlops.monitor_magics import Table, register_monitor_magics

    monkeypatch.setattr(jupyter_mlops, "_current", module_ws)
    existed = InteractiveShell.initialized()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    register_monitor_magics(ip)
    try:
        created = ip.run_line_magic(
            "monitor", "churn-api --name magic-m --window 500 --min-rows 100000 "
                       "--threshold psi=0.2 --schedule '*/15 * * * *'")
        assert created.name == "magic-m" and created.window == "500"
        assert created.thresholds == {"psi": 0.2} and created.schedule == "*/15 * * * *"
        check = ip.run_line_magic("monitor", "check magic-m")
        assert isinstance(check, MonitorCheck) and check.status == "insufficient_data"
        listing = ip.run_line_magic("monitor", "")
        assert isinstance(listing, Table) and "magic-m" in repr(listing)
        assert "insufficient_data" in listing._repr_html_()
        assert "insufficient_data" in repr(ip.run_line_magic("monitor", "history magic-m"))
        assert ip.run_line_magic("monitor", "pause magic-m").paused
        assert ip.run_line_magic("monitor", "mute magic-m 2h").muted
        every = ip.run_line_magic("alerts", "--status all")
        assert [a.monitor for a in every] == ["churn-drift"]
        acked = ip.run_line_magic("alerts", f"ack {every[0].id} seen it")
        assert acked.note == "seen it"
        with pytest.raises(UsageError, match="No alert 999999"):
            ip.run_line_magic("alerts", "ack 999999")
        with pytest.raises(UsageError, match="No monitor named 'nope'"):
            ip.run_line_magic("monitor", "check nope")
        with pytest.raises(UsageError, match="cron"):
            ip.run_line_magic("monitor", "churn-api --schedule 'often'")
        ip.run_line_magic("monitor", "delete magic-m")
        assert "magic-m" not in repr(ip.run_line_magic("monitor", ""))
    finally:
        if not existed:
            InteractiveShell.clear_instance()


def test_the_runner_checks_a_due_monitor_and_idles_cheaply(module_ws, dep, trained) -> None:
    import time

    from sqlalchemy import event, update

    from jupyter_mlops.core.db.monitor_models import MonitorRow
    from jupyter_mlops.core.monitor.runner import MonitorRunner

    m = monitor("churn-api", reference=trained["other"], name="runner-m", min_rows=10**6,
                schedule="0 0 1 1 *", workspace=module_ws)
    for other in monitors(workspace=module_ws):
        if other.name != "runner-m" and not other.paused:
            other.pause()
    statements: list[str] = []
    listener = (lambda *args: statements.append(args[2]))
    runner = MonitorRunner(module_ws, tick=0.2).start()
    try:
        time.sleep(1.0)
        assert m.history() == []  # not due yet
        event.listen(module_ws.engine, "before_cursor_execute", listener)
        time.sleep(1.0)
        event.remove(module_ws.engine, "before_cursor_execute", listener)
        # idle: two small queries per tick (the due monitors, the soonest next check)
        assert len(statements) <= 2 * (1.0 / 0.2 + 2), statements
        with module_ws.session() as session:
            session.execute(update(MonitorRow).where(MonitorRow.name == "runner-m")
                            .values(next_check_at=utcnow() - timedelta(seconds=1)))
        deadline = time.monotonic() + 10
        while not m.history() and time.monotonic() < deadline:
            time.sleep(0.1)
        history = m.history()
        assert len(history) == 1 and history[0].status == "insufficient_data"
        assert m.refresh().next_check_at > utcnow()  # moved on to the next slot
    finally:
        runner.stop()
    assert not runner.running and runner.last_error is None
