"""Webhooks over the activity log: matching, payloads, signatures, retries, exactly once.

Real parts: a workspace in a tmp dir, events recorded by core calls (record_event, a
dataset snapshot), and a real HTTP endpoint on 127.0.0.1 (`webhook_receiver`) that
records what it receives and fails when told to. The back-off is stepped over with
`deliver_pending(now=...)` instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from webhook_receiver import Receiver

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.core.events import list_events, record_event
from jupyter_mlops.core.notify import (
    Notifier,
    add_webhook,
    deliver,
    deliver_pending,
    event_matches,
    get_webhook,
    hooks,
    list_deliveries,
    list_webhooks,
    remove_webhook,
    update_webhook,
)
from jupyter_mlops.core.notify import (
    test_webhook as send_test,
)
from jupyter_mlops.core.workspace import Workspace


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


def later(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def newest_id(ws: Workspace) -> int:
    return list_events(ws, limit=1)[0].id


# -- patterns and validation ----------------------------------------------------------------
def test_patterns_match_a_kind_a_prefix_a_status_and_everything() -> None:
    assert event_matches(["monitor.alert"], "monitor.alert", None)
    assert not event_matches(["monitor.alert"], "monitor.alerts", None)
    assert not event_matches(["monitor.alert"], "monitor.resolved", None)
    assert event_matches(["deploy"], "deploy.rollback", {})
    assert not event_matches(["deploy"], "deployments.x", {})
    assert event_matches(["pipeline.run=failed"], "pipeline.run", {"status": "failed"})
    assert not event_matches(["pipeline.run=failed"], "pipeline.run", {"status": "succeeded"})
    assert not event_matches(["pipeline.run=failed"], "pipeline.run", None)
    assert event_matches(["pipeline=failed|cancelled"], "pipeline.run", {"status": "cancelled"})
    assert event_matches(["*"], "anything.at.all", None)
    assert event_matches(["*=failed"], "pipeline.run", {"status": "failed"})
    assert event_matches(["registry.gate", "deploy"], "deploy.promote", None)


def test_bad_names_urls_patterns_and_formats_are_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="http:// or https://"):
        add_webhook("ops", "ftp://example.com/x", ["*"], workspace=ws)
    with pytest.raises(InvalidInput, match="http:// or https://"):
        add_webhook("ops", "https:///no-host", ["*"], workspace=ws)
    with pytest.raises(InvalidInput, match="webhook name"):
        add_webhook("-ops", "https://example.com", ["*"], workspace=ws)
    with pytest.raises(InvalidInput, match="event pattern"):
        add_webhook("ops", "https://example.com", ["monitor alert"], workspace=ws)
    with pytest.raises(InvalidInput, match="at least one"):
        add_webhook("ops", "https://example.com", [], workspace=ws)
    with pytest.raises(InvalidInput, match="json, slack"):
        add_webhook("ops", "https://example.com", ["*"], format="xml", workspace=ws)
    add_webhook("ops", "https://example.com/hook", "deploy", workspace=ws)
    with pytest.raises(Conflict, match="'ops' exists"):
        add_webhook("ops", "https://example.com/other", ["*"], workspace=ws)
    with pytest.raises(NotFound, match="Webhooks: ops"):
        get_webhook("nope", workspace=ws)
    assert [h.name for h in list_webhooks(workspace=ws)] == ["ops"]


# -- delivery -------------------------------------------------------------------------------
def test_a_new_webhook_hears_only_what_happens_next_in_order(ws: Workspace, receiver: Receiver,
                                                            monkeypatch) -> None:
    monkeypatch.delenv("JUPYTER_MLOPS_OBJECTS_URL", raising=False)
    record_event(ws, "note", "before the webhook")
    hook = add_webhook("feed", receiver.url, ["note", "datasets", "pipeline.run=failed"],
                       workspace=ws)
    assert hook.last_event_id == newest_id(ws)
    first = record_event(ws, "note", "first", subject="s1", data={"n": 1})
    record_event(ws, "registry.alias", "not subscribed")
    record_event(ws, "pipeline.run", "ok run", data={"status": "succeeded"})
    failed = record_event(ws, "pipeline.run", "bad run", subject="train.pipeline.yaml",
                          data={"status": "failed"})
    D.snapshot(pd.DataFrame({"a": [1, 2, 3]}), "sales", workspace=ws)

    report = deliver_pending(ws, holder="one")
    assert report["leader"] and report["delivered"] == 3 and report["failed"] == 0
    bodies = [p.json for p in receiver.received]
    assert [b["event"]["kind"] for b in bodies] == ["note", "pipeline.run", "datasets.snapshot"]
    assert [b["event"]["message"] for b in bodies][:2] == ["first", "bad run"]
    assert bodies[0] == {"event": {"id": first.id, "ts": first.ts.isoformat(), "kind": "note",
                                   "subject": "s1", "message": "first", "actor": first.actor,
                                   "data": {"n": 1}},
                         "workspace": ws.root.name, "source": "jupyter-mlops"}
    assert datetime.fromisoformat(bodies[1]["event"]["ts"]).tzinfo is not None
    assert bodies[1]["event"]["id"] == failed.id
    assert bodies[2]["event"]["subject"] == "sales"
    assert receiver.received[0].headers["X-MLOps-Event-Id"] == str(first.id)
    assert "X-MLOps-Signature" not in receiver.received[0].headers
    assert get_webhook("feed", workspace=ws).last_event_id == newest_id(ws)
    # nothing new: no post, no lease taken
    assert deliver_pending(ws, holder="one") == {"leader": False, "delivered": 0, "failed": 0,
                                                 "webhooks": {}}
    assert len(receiver.attempts) == 3


def test_the_signature_verifies_with_the_secret_and_slack_gets_one_line(
        ws: Workspace, receiver: Receiver) -> None:
    add_webhook("signed", receiver.url, ["monitor"], secret="s3cret", workspace=ws)
    add_webhook("chat", receiver.url + "/slack", ["monitor.alert"], format="slack", workspace=ws)
    assert get_webhook("signed", workspace=ws).to_dict()["has_secret"] is True
    assert "secret" not in get_webhook("signed", workspace=ws).to_dict()
    record_event(ws, "monitor.alert", "Drift on churn-api: 2 column(s) drifted <b>",
                 subject="churn-api-drift", data={"drifted_columns": ["tenure", "plan"]})
    deliver_pending(ws, holder="one")
    by_path = {p.path: p for p in receiver.received}
    signed = by_path["/hook"]
    expected = "sha256=" + hmac.new(b"s3cret", signed.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signed.headers["X-MLOps-Signature"], expected)
    wrong = "sha256=" + hmac.new(b"other", signed.body, hashlib.sha256).hexdigest()
    assert signed.headers["X-MLOps-Signature"] != wrong
    text = by_path["/hook/slack"].json
    assert list(text) == ["text"]
    assert text["text"] == (f"[{ws.root.name}] monitor.alert churn-api-drift: Drift on "
                            f"churn-api: 2 column(s) drifted &lt;b&gt; — drifted columns: "
                            f"tenure, plan")
    assert "X-MLOps-Signature" not in by_path["/hook/slack"].headers


def test_a_failed_post_is_retried_after_the_backoff_once_and_in_order(
        ws: Workspace, receiver: Receiver) -> None:
    add_webhook("flaky", receiver.url, ["*"], workspace=ws)
    receiver.fail_next(500)
    ids = [record_event(ws, "note", f"n{i}").id for i in range(3)]

    report = deliver_pending(ws, holder="one")
    assert report["failed"] == 1 and report["delivered"] == 0
    hook = get_webhook("flaky", workspace=ws)
    assert hook.failures == 1 and hook.last_error.startswith("HTTP 500: endpoint says no")
    assert hook.last_event_id == ids[0] - 1
    wait = (hook.next_attempt_at.replace(tzinfo=timezone.utc)
            - datetime.now(timezone.utc)).total_seconds()
    assert 3 < wait <= deliver.BACKOFF_BASE_S

    assert deliver_pending(ws, holder="one")["delivered"] == 0  # still backing off
    assert len(receiver.attempts) == 1
    report = deliver_pending(ws, holder="one", now=later(deliver.BACKOFF_BASE_S + 1))
    assert report["delivered"] == 3
    assert receiver.event_ids() == ids
    hook = get_webhook("flaky", workspace=ws)
    assert (hook.failures, hook.last_error, hook.next_attempt_at) == (0, None, None)
    log = list_deliveries("flaky", workspace=ws)
    assert [(d.event_id, d.ok, d.status_code) for d in reversed(log)] == [
        (ids[0], False, 500), (ids[0], True, 200), (ids[1], True, 200), (ids[2], True, 200)]
    assert log[-1].error.startswith("HTTP 500") and log[0].holder == "one"
    assert [deliver.backoff_seconds(n) for n in (1, 2, 3, 20)] == [5, 10, 20, 3600]


def test_an_endpoint_that_is_down_loses_nothing(ws: Workspace, receiver: Receiver) -> None:
    add_webhook("down", receiver.url, ["note"], workspace=ws)
    receiver.stop()
    ids = [record_event(ws, "note", f"n{i}").id for i in range(3)]
    deliver_pending(ws, holder="one", timeout=1.0)
    deliver_pending(ws, holder="one", timeout=1.0, now=later(6))
    hook = get_webhook("down", workspace=ws)
    assert hook.failures == 2 and "ConnectError" in hook.last_error
    assert hook.last_event_id == ids[0] - 1
    assert [d.event_id for d in list_deliveries("down", workspace=ws)] == [ids[0], ids[0]]
    receiver.start()
    assert deliver_pending(ws, holder="one", now=later(20))["delivered"] == 3
    assert receiver.event_ids() == ids
    assert get_webhook("down", workspace=ws).failures == 0


def test_two_deliverers_racing_post_every_event_exactly_once(ws: Workspace,
                                                             receiver: Receiver) -> None:
    add_webhook("raced", receiver.url, ["note"], workspace=ws)
    add_webhook("raced-too", receiver.url + "/2", ["*"], workspace=ws)
    done = threading.Event()
    recorded: list[int] = []

    def write() -> None:
        for i in range(30):
            recorded.append(record_event(ws, "note", f"n{i}").id)
            time.sleep(0.005)
        done.set()

    def deliverer(holder: str) -> None:
        while True:
            finished = done.is_set()
            deliver_pending(ws, holder=holder, limit=3)
            deliver.release_lease(ws, holder)  # hand over often: the race is at every pass
            time.sleep(0.002)
            if finished and all(h.last_event_id >= recorded[-1]
                                for h in list_webhooks(workspace=ws)):
                return

    threads = [threading.Thread(target=deliverer, args=(h,)) for h in ("a", "b")]
    threads.append(threading.Thread(target=write))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    first = [p.json["event"]["id"] for p in receiver.received if p.path == "/hook"]
    second = [p.json["event"]["id"] for p in receiver.received if p.path == "/hook/2"]
    assert first == recorded and second == recorded
    holders = {d.holder for d in list_deliveries("raced", limit=100, workspace=ws)}
    assert holders == {"a", "b"}


def test_a_disabled_webhook_gets_nothing_and_keeps_its_cursor(ws: Workspace,
                                                              receiver: Receiver) -> None:
    add_webhook("quiet", receiver.url, ["*"], workspace=ws)
    cursor = update_webhook("quiet", enabled=False, workspace=ws).last_event_id
    missed = record_event(ws, "note", "while disabled")
    deliver_pending(ws, holder="one")
    assert receiver.attempts == []
    assert get_webhook("quiet", workspace=ws).last_event_id == cursor
    update_webhook("quiet", enabled=True, workspace=ws)  # resumes where it stopped
    deliver_pending(ws, holder="one")
    kinds = [(p.json["event"]["id"], p.json["event"]["kind"]) for p in receiver.received]
    assert (missed.id, "note") in kinds


def test_the_notifier_thread_delivers_without_being_asked(ws: Workspace,
                                                          receiver: Receiver) -> None:
    add_webhook("live", receiver.url, ["deploy"], workspace=ws)
    notifier = Notifier(ws, interval=0.05, holder="thread").start()
    try:
        event = record_event(ws, "deploy.rollback", "canary rolled back", subject="churn-api")
        assert [p.json["event"]["id"] for p in receiver.wait_for(1)] == [event.id]
    finally:
        notifier.stop()
    assert notifier.stats["delivered"] == 1


# -- management -----------------------------------------------------------------------------
def test_test_sends_updates_removal_and_the_deliveries_log(ws: Workspace, receiver: Receiver,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(hooks, "KEEP_DELIVERIES", 3)
    watcher = add_webhook("watcher", receiver.url + "/watch", ["notify"], workspace=ws)
    ops = add_webhook("ops", "http://127.0.0.1:9/nothing-here", ["*"], secret="k", workspace=ws)
    assert ops.last_event_id == watcher.last_event_id + 1  # its own audit event, not sent
    assert send_test("ops", workspace=ws)["ok"] is False
    hook = update_webhook("ops", url=receiver.url, secret="", workspace=ws)
    assert hook.has_secret is False and hook.url == receiver.url
    for _ in range(4):
        result = send_test("ops", workspace=ws)
        assert result["ok"] and result["status_code"] == 200 and result["ms"] >= 0
    sent = [p for p in receiver.received if p.path == "/hook"]
    assert sent[0].json["event"]["kind"] == "notify.test"
    assert sent[0].json["event"]["subject"] == "ops"
    log = list_deliveries("ops", workspace=ws)
    assert len(log) == 3 and all(d.ok and d.kind == "notify.test" for d in log)
    assert get_webhook("ops", workspace=ws).last_event_id == ops.last_event_id  # tests move none
    with pytest.raises(InvalidInput, match="limit"):
        list_deliveries("ops", limit=0, workspace=ws)
    remove_webhook("ops", workspace=ws)
    with pytest.raises(NotFound, match="Webhooks: watcher"):
        list_deliveries("ops", workspace=ws)
    # the audit trail reached the webhook subscribed to `notify`
    deliver_pending(ws, holder="one")
    heard = [p.json["event"]["kind"] for p in receiver.received if p.path == "/hook/watch"]
    assert heard == ["notify.webhook.added", "notify.webhook.updated", "notify.webhook.removed"]


def test_the_migration_creates_and_drops_the_tables(tmp_path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from jupyter_mlops.core.db import Base
    from jupyter_mlops.core.db.engine import create_state_engine
    from jupyter_mlops.core.db.migrate import alembic_config, head_revisions, upgrade

    assert "0006_notify" in head_revisions()
    engine = create_state_engine(f"sqlite:///{tmp_path / 'state.db'}")
    upgrade(engine)
    ours = {"webhooks", "webhook_deliveries"}
    assert ours <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if any(getattr(x, "name", None) in ours or getattr(
        getattr(x, "table", None), "name", None) in ours for x in _walk(d))]
    assert mine == []
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_notify-1")
    tables = set(inspect(engine).get_table_names())
    assert not ours & tables and "pipeline_leases" in tables
    engine.dispose()


def _walk(diff):
    """The objects inside one autogenerate diff entry (tuples, possibly nested)."""
    if isinstance(diff, (list, tuple)):
        for item in diff:
            yield from _walk(item)
    else:
        yield diff
