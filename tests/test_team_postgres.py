"""The team set-up (docs/team.md): several servers on one PostgreSQL state DB.

A private PostgreSQL 15 cluster is created for the module (Debian's
`pg_createcluster`, trust auth on 127.0.0.1, a free port) and dropped at the
end. Two workspaces with different roots stand for two users' servers: they
migrate the shared DB at the same moment, see each other's records, and only
one of their schedulers holds the firing lease. The test skips, saying why,
only where no cluster can be created (no PostgreSQL binaries, not root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(300)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="psycopg is a test dependency: pip install -e .[test]")
    if not shutil.which("pg_createcluster"):
        pytest.skip("PostgreSQL server binaries (pg_createcluster) are not installed")
    if os.geteuid() != 0:
        pytest.skip("creating a private PostgreSQL cluster needs root (pg_createcluster)")
    name = f"mlops{uuid.uuid4().hex[:8]}"
    base = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    base.chmod(0o755)  # the server runs as the postgres user
    port = _free_port()
    version = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    subprocess.run(["pg_createcluster", version, name, f"--datadir={base / 'data'}",
                    f"--port={port}", "--", "--auth-local=trust", "--auth-host=trust"],
                   check=True, capture_output=True)
    try:
        subprocess.run(["pg_ctlcluster", version, name, "start"], check=True,
                       capture_output=True, timeout=60)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(pg_url, tmp_path_factory):
    """Two workspaces (two users' servers) sharing the state DB, each with its own files."""
    from jupyter_mlops.core.workspace import Workspace

    made = []
    for who in ("alice", "bob"):
        root = tmp_path_factory.mktemp(who)
        mlops = root / ".mlops"
        made.append(Workspace.resolve(root, db_url=pg_url,
                                      tracking_uri=f"sqlite:///{mlops / 'mlflow.db'}",
                                      artifact_root=(mlops / "artifacts").as_uri()))
    yield made
    for ws in made:
        ws.close()


def test_two_servers_migrate_one_database_at_once(servers) -> None:
    from jupyter_mlops.core.db.migrate import current_revisions, head_revisions

    errors: list[BaseException] = []

    def open_db(ws) -> None:
        try:
            ws.engine  # noqa: B018 - migrates on first use
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_db, args=(ws,)) for ws in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert current_revisions(servers[0].engine) == head_revisions()
    assert servers[0].engine.dialect.name == "postgresql"


def test_records_of_one_server_are_seen_by_the_other(servers) -> None:
    from jupyter_mlops.core import datasets as D
    from jupyter_mlops.core.events import list_events, record_event

    alice, bob = servers
    record_event(alice, "note", "shared state works", subject="team")
    assert any(e.message == "shared state works" for e in list_events(bob, limit=20))
    frame = pd.DataFrame({"x": range(100), "y": ["a", "b"] * 50})
    version = D.snapshot(frame, "shared", workspace=alice)
    listed = {v.version for v in D.list_versions("shared", workspace=bob)}
    assert version.version in listed


def test_only_one_scheduler_holds_the_lease(servers) -> None:
    from jupyter_mlops.core.pipelines.scheduler import Scheduler

    alice, bob = servers
    first = Scheduler(alice, lease_ttl=30, sync_specs=False, track=False)
    second = Scheduler(bob, lease_ttl=30, sync_specs=False, track=False)
    assert first._acquire_lease() is True
    assert second._acquire_lease() is False
    assert first._acquire_lease() is True  # renewing its own lease
    first.release_lease()
    assert second._acquire_lease() is True
    second.release_lease()


def test_two_notifiers_post_each_event_of_both_servers_once_in_order(servers) -> None:
    """Two servers write events at once while both run a notifier: the webhook gets
    every event once, in id order (the lease and the cursor's compare-and-set on PG)."""
    from webhook_receiver import Receiver

    from jupyter_mlops.core import notify
    from jupyter_mlops.core.events import record_event

    alice, bob = servers
    receiver = Receiver()
    notify.add_webhook("team-notes", receiver.url, ["note=pg"], workspace=alice)
    notifiers = [notify.Notifier(ws, interval=0.05, holder=who).start()
                 for ws, who in ((alice, "alice"), (bob, "bob"))]
    ids: list[int] = []
    lock = threading.Lock()

    def write(ws, tag: str) -> None:
        for i in range(40):
            event = record_event(ws, "note", f"{tag}{i}", data={"status": "pg"})
            with lock:
                ids.append(event.id)

    writers = [threading.Thread(target=write, args=(ws, tag))
               for ws, tag in ((alice, "a"), (bob, "b"))]
    try:
        for t in writers:
            t.start()
        for t in writers:
            t.join(60)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(receiver.received) < len(ids):
            time.sleep(0.1)
    finally:
        for n in notifiers:
            n.stop()
        receiver.stop()
        notify.remove_webhook("team-notes", workspace=alice)
    posted = [p.json["event"]["id"] for p in receiver.received]
    assert posted == sorted(ids)  # each once, in order
    assert len(posted) == 80
