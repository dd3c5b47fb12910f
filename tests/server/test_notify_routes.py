"""The webhook routes through the real Jupyter server, posting to a real endpoint.

The endpoint (`webhook_receiver`) listens on 127.0.0.1; the server's own
Notifier thread (started by `background.start_all`) delivers an event recorded
in the server's workspace to it, which proves the service is wired in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from pathlib import Path

import pytest
from mlops_rest import call
from webhook_receiver import Receiver

from jupyter_mlops.core.events import record_event
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.server.notify_service import start_notifier

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


async def test_webhooks_are_managed_tested_and_delivered_over_rest(
        jp_fetch, jp_root_dir: Path, receiver: Receiver) -> None:
    code, bad = await call(jp_fetch, "webhooks", method="POST", body={
        "name": "ops", "url": "file:///etc/passwd", "events": ["*"]})
    assert code == 400 and "http:// or https://" in bad["message"]
    code, bad = await call(jp_fetch, "webhooks", method="POST", body={
        "name": "ops", "url": receiver.url, "events": ["monitor alert"]})
    assert code == 400 and "event pattern" in bad["message"]
    code, bad = await call(jp_fetch, "webhooks", method="POST", body={
        "name": "ops", "url": receiver.url, "events": ["*"], "format": "xml"})
    assert code == 400 and bad["details"][0]["field"] == "format"

    code, created = await call(jp_fetch, "webhooks", method="POST", body={
        "name": "ops", "url": receiver.url, "events": ["note", "deploy"],
        "secret": "s3cret-value"})
    assert code == 201, created
    assert created["has_secret"] is True and created["enabled"] is True
    assert created["events"] == ["note", "deploy"] and created["failures"] == 0
    assert "secret" not in created and "s3cret-value" not in json.dumps(created)
    code, conflict = await call(jp_fetch, "webhooks", method="POST", body={
        "name": "ops", "url": receiver.url, "events": ["*"]})
    assert code == 409 and "exists" in conflict["message"]

    code, listing = await call(jp_fetch, "webhooks")
    assert code == 200 and [h["name"] for h in listing["webhooks"]] == ["ops"]
    assert "s3cret-value" not in json.dumps(listing)
    code, missing = await call(jp_fetch, "webhooks/nope")
    assert code == 404 and "Webhooks: ops" in missing["message"]
    assert missing["details"]["webhooks"] == ["ops"]
    code, missing = await call(jp_fetch, "webhooks/nope/deliveries")
    assert code == 404

    code, tested = await call(jp_fetch, "webhooks/ops/test", method="POST")
    assert code == 200 and tested["ok"] is True and tested["status_code"] == 200, tested
    sent = receiver.received[0]
    assert sent.json["event"]["kind"] == "notify.test"
    assert sent.headers["X-MLOps-Signature"] == "sha256=" + hmac.new(
        b"s3cret-value", sent.body, hashlib.sha256).hexdigest()

    # an event recorded anywhere in the workspace reaches the endpoint through the
    # server's own Notifier thread
    ws = Workspace.resolve(jp_root_dir)
    try:
        event = record_event(ws, "deploy.rollback", "canary rolled back", subject="churn-api")
    finally:
        ws.close()
    for _ in range(100):
        if len(receiver.received) >= 2:
            break
        await asyncio.sleep(0.1)
    assert receiver.received[1].json["event"]["id"] == event.id

    code, log = await call(jp_fetch, "webhooks/ops/deliveries", params={"limit": "10"})
    assert code == 200
    assert [(d["kind"], d["event_id"], d["ok"]) for d in log["deliveries"]] == [
        ("deploy.rollback", event.id, True), ("notify.test", None, True)]
    code, bad = await call(jp_fetch, "webhooks/ops/deliveries", params={"limit": "0"})
    assert code == 400

    code, patched = await call(jp_fetch, "webhooks/ops", method="PATCH", body={
        "enabled": False, "format": "slack", "secret": ""})
    assert code == 200 and patched["enabled"] is False and patched["format"] == "slack"
    assert patched["has_secret"] is False and patched["last_event_id"] >= event.id
    code, bad = await call(jp_fetch, "webhooks/ops", method="PATCH", body={"url": "ssh://x"})
    assert code == 400
    code, bad = await call(jp_fetch, "webhooks/ops", method="PATCH", body={"colour": "red"})
    assert code == 400
    code, one = await call(jp_fetch, "webhooks/ops")
    assert code == 200 and one["format"] == "slack" and one["enabled"] is False

    code, deleted = await call(jp_fetch, "webhooks/ops", method="DELETE")
    assert code == 200 and deleted == {"name": "ops", "deleted": True}
    code, _ = await call(jp_fetch, "webhooks/ops")
    assert code == 404


async def test_the_server_runs_the_notifier_unless_told_not_to_and_stops_it(
        jp_serverapp) -> None:
    from jupyter_mlops.core.notify import Notifier

    app = jp_serverapp.web_app.settings["mlops_app"]
    notifiers = [h for h in app._background if isinstance(h, Notifier)]
    assert len(notifiers) == 1 and notifiers[0]._thread.is_alive()

    app.run_notifications = False
    try:
        assert start_notifier(app, app.settings["mlops_workspace"]) is None
    finally:
        app.run_notifications = True

    await jp_serverapp.extension_manager.stop_all_extensions()
    assert not [t for t in threading.enumerate() if t.name == "mlops-notifier"]
