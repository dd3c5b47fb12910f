"""`jupyter mlops webhooks …` through `jupyter_mlops.cli.main`, against a real endpoint.

The workspace is a tmp dir, the endpoint `webhook_receiver` on 127.0.0.1; the
headless `jupyter mlops scheduler --once` delivers what was recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from webhook_receiver import Receiver

from jupyter_mlops.cli import main
from jupyter_mlops.core.events import record_event
from jupyter_mlops.core.workspace import Workspace


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path / "ws")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_test_disable_and_remove(root: str, receiver: Receiver, capsys,
                                          monkeypatch) -> None:
    code, _, err = run(capsys, "webhooks", "add", "ops", "ftp://x", "--events", "*", "-w", root)
    assert code == 1 and err.startswith("error: ") and "http:// or https://" in err
    code, _, err = run(capsys, "webhooks", "add", "ops", receiver.url, "--events", "a b",
                       "-w", root)
    assert code == 1 and "Invalid event pattern 'a b'" in err

    monkeypatch.setenv("OPS_HOOK_SECRET", "from-the-env")
    code, out, err = run(capsys, "webhooks", "add", "ops", receiver.url, "--events",
                         "monitor.alert", "-e", "pipeline.run=failed", "--format", "slack",
                         "--secret-env", "OPS_HOOK_SECRET", "-w", root)
    assert code == 0, err
    assert out.startswith(f"webhook ops: monitor.alert, pipeline.run=failed → {receiver.url} "
                          f"(slack, signed); events after #")
    code, _, err = run(capsys, "webhooks", "add", "ops", receiver.url, "-e", "*", "-w", root)
    assert code == 1 and "'ops' exists" in err

    code, out, _ = run(capsys, "webhooks", "list", "-w", root)
    header, line = out.splitlines()
    assert header.split()[:4] == ["NAME", "ENABLED", "FORMAT", "EVENTS"]
    assert line.split()[:4] == ["ops", "yes", "slack", "monitor.alert,"]
    code, out, _ = run(capsys, "webhooks", "list", "--json", "-w", root)
    listed = json.loads(out)
    assert listed[0]["has_secret"] is True and "from-the-env" not in out

    code, out, err = run(capsys, "webhooks", "test", "ops", "-w", root)
    assert code == 0, err
    assert out.startswith("ops: HTTP 200 in ")
    assert "notify.test" in receiver.received[0].json["text"]

    code, out, _ = run(capsys, "webhooks", "disable", "ops", "-w", root)
    assert code == 0 and out.startswith("webhook ops disabled")
    code, out, _ = run(capsys, "webhooks", "list", "-w", root)
    assert out.splitlines()[1].split()[1] == "no"
    code, out, _ = run(capsys, "webhooks", "enable", "ops", "--json", "-w", root)
    assert code == 0 and json.loads(out)["enabled"] is True

    code, _, err = run(capsys, "webhooks", "remove", "nope", "-w", root)
    assert code == 1 and "No webhook named 'nope'. Webhooks: ops." in err
    code, out, _ = run(capsys, "webhooks", "remove", "ops", "-w", root)
    assert code == 0 and out.strip() == "webhook ops removed"
    code, out, _ = run(capsys, "webhooks", "list", "-w", root)
    assert out.startswith("no webhooks yet")


def test_the_headless_scheduler_delivers_and_deliveries_show_it(root: str, receiver: Receiver,
                                                                capsys) -> None:
    assert run(capsys, "webhooks", "add", "runs", receiver.url, "-e", "pipeline.run=failed",
               "-w", root)[0] == 0
    ws = Workspace.resolve(root)
    try:
        record_event(ws, "pipeline.run", "train run r1 succeeded", data={"status": "succeeded"})
        failed = record_event(ws, "pipeline.run", "train run r2 failed",
                              data={"status": "failed"})
    finally:
        ws.close()
    code, out, err = run(capsys, "scheduler", "--once", "--no-track", "--no-notify", "-w", root)
    assert code == 0, err
    assert receiver.attempts == []  # --no-notify: nothing posted
    code, out, err = run(capsys, "scheduler", "--once", "--no-track", "-w", root)
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["notifications"]["delivered"] == 1
    assert receiver.event_ids() == [failed.id]

    code, out, _ = run(capsys, "webhooks", "deliveries", "runs", "-w", root)
    header, line = out.splitlines()
    assert header.split()[:4] == ["TIME", "(UTC)", "EVENT", "KIND"]
    assert line.split()[2:6] == [str(failed.id), "pipeline.run", "200", "ok"]
    code, out, _ = run(capsys, "webhooks", "deliveries", "runs", "--limit", "5", "--json",
                       "-w", root)
    assert [d["event_id"] for d in json.loads(out)] == [failed.id]

    receiver.stop()
    code, out, err = run(capsys, "webhooks", "test", "runs", "--timeout", "1", "-w", root)
    assert code == 1 and out == ""
    assert err.startswith("error: the test post to runs failed: ConnectError")
    code, out, _ = run(capsys, "webhooks", "deliveries", "runs", "-w", root)
    assert out.splitlines()[1].split()[3:6] == ["notify.test", "-", "failed"]
