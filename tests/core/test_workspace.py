"""The Workspace: resolution, layout, the state DB and its migrations, confinement."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from jupyter_mlops.core.db.engine import create_state_engine
from jupyter_mlops.core.db.migrate import current_revision, head_revision, upgrade
from jupyter_mlops.core.errors import InvalidInput, OutsideWorkspace
from jupyter_mlops.core.events import list_events, record_event
from jupyter_mlops.core.workspace import Workspace, find_workspace_root, mask_url


def test_fresh_dir_touches_nothing_until_used(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    assert ws.root == tmp_path.resolve()
    assert not (tmp_path / ".mlops").exists()
    assert ws.info()["initialized"] is False
    _ = ws.engine
    assert (tmp_path / ".mlops" / "state.db").is_file()
    assert (tmp_path / ".mlops" / "objects").is_dir()
    assert current_revision(ws.engine) == head_revision()
    ws.close()


def test_state_db_uses_wal(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    with ws.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    ws.close()


def test_existing_workspace_sees_earlier_state(tmp_path: Path) -> None:
    first = Workspace.resolve(tmp_path)
    record_event(first, "note", "written by the first process")
    first.close()
    second = Workspace.resolve(tmp_path)
    messages = [e.message for e in list_events(second)]
    assert messages == ["written by the first process"]
    second.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    engine = ws.engine
    upgrade(engine, "heads")
    upgrade(engine, "heads")
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"events", "workspace_meta", "alembic_version"} <= tables
    ws.close()


def test_older_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    (tmp_path / ".mlops").mkdir()
    url = f"sqlite:///{tmp_path / '.mlops' / 'state.db'}"
    engine = create_state_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        assert "actor" not in {c["name"] for c in inspect(conn).get_columns("events")}
        conn.execute(text("INSERT INTO events (ts, kind, subject, message) "
                          "VALUES ('2026-01-01 00:00:00', 'note', NULL, 'from release 0.0')"))
    engine.dispose()

    ws = Workspace.resolve(tmp_path)
    assert current_revision(ws.engine) == head_revision() != "0001"
    events = list_events(ws)
    assert [(e.message, e.actor) for e in events] == [("from release 0.0", None)]
    columns = {c["name"] for c in inspect(ws.engine).get_columns("events")}
    assert "actor" in columns
    ws.close()


def test_resolution_precedence(tmp_path: Path) -> None:
    env = {"JUPYTER_MLOPS_WORKSPACE": str(tmp_path / "from-env"),
           "MLFLOW_TRACKING_URI": "http://mlflow.example:5000"}
    ws = Workspace.resolve(environ=env)
    assert ws.root == (tmp_path / "from-env").resolve()
    assert ws.tracking_uri == "http://mlflow.example:5000"
    env["JUPYTER_MLOPS_TRACKING_URI"] = "sqlite:///elsewhere.db"
    assert Workspace.resolve(environ=env).tracking_uri == "sqlite:///elsewhere.db"
    explicit = Workspace.resolve(tmp_path, tracking_uri="sqlite:///x.db", environ=env)
    assert explicit.root == tmp_path.resolve()
    assert explicit.tracking_uri == "sqlite:///x.db"


def test_resolution_walks_up_to_nearest_mlops(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".mlops").mkdir()
    nested = tmp_path / "notebooks" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_workspace_root(nested) == tmp_path.resolve()
    assert Workspace.resolve(environ={}).root == tmp_path.resolve()


def test_export_environ_round_trips(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path, db_url=f"sqlite:///{tmp_path}/custom.db")
    env: dict[str, str] = {}
    ws.export_environ(env)
    again = Workspace.resolve(environ=env)
    assert (again.root, again.db_url, again.tracking_uri, again.artifact_root) == (
        ws.root, ws.db_url, ws.tracking_uri, ws.artifact_root)


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        Workspace.resolve(file)


def test_paths_are_confined_to_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    ws = Workspace.resolve(root)
    assert ws.resolve_path("data/x.csv") == (root / "data" / "x.csv").resolve()
    assert ws.resolve_path(root / "data") == (root / "data").resolve()
    for bad in ("../outside.csv", "/etc/passwd", "data/../../x"):
        with pytest.raises(OutsideWorkspace, match="outside the workspace"):
            ws.resolve_path(bad)
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(OutsideWorkspace):
        ws.resolve_path("escape/secret")
    with pytest.raises(InvalidInput):
        ws.resolve_path("")


def test_mask_url_hides_passwords() -> None:
    assert mask_url("postgresql://ml:s3cret@db:5432/state") == "postgresql://ml:***@db:5432/state"
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_health_reports_a_broken_state_db_instead_of_raising(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path, db_url="sqlite:////dev/null/impossible/state.db")
    report = ws.health()
    assert report["state_db"].ok is False
    assert "state database" in report["state_db"].detail


def test_events_filter_and_page(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    for i in range(5):
        record_event(ws, "registry.alias", f"move {i}", subject="churn")
    record_event(ws, "note", "hello", actor="ada")
    assert [e.message for e in list_events(ws, kind="note")] == ["hello"]
    assert list_events(ws, kind="note")[0].actor == "ada"
    registry = list_events(ws, kind="registry", limit=3)
    assert [e.message for e in registry] == ["move 4", "move 3", "move 2"]
    rest = list_events(ws, kind="registry", before_id=registry[-1].id)
    assert [e.message for e in rest] == ["move 1", "move 0"]
    with pytest.raises(InvalidInput, match="limit"):
        list_events(ws, limit=0)
    with pytest.raises(InvalidInput, match="kind"):
        record_event(ws, "", "no kind")
    ws.close()


def _open_and_write(root: str, label: str, barrier) -> None:
    barrier.wait()
    ws = Workspace.resolve(root)
    for i in range(20):
        record_event(ws, "note", f"{label}-{i}")
    ws.close()


def test_two_processes_open_a_new_workspace_at_once(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_open_and_write, args=(str(tmp_path), label, barrier))
             for label in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    ws = Workspace.resolve(tmp_path)
    assert len(list_events(ws, limit=100)) == 40
    with sqlite3.connect(tmp_path / ".mlops" / "state.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ws.close()


@pytest.mark.slow
def test_mlflow_store_is_created_under_the_workspace(tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ws = Workspace.resolve(tmp_path / "ws")
    assert "sqlite store" in ws.mlflow.ping()
    assert (tmp_path / "ws" / ".mlops" / "mlflow.db").is_file()
    default = ws.mlflow.client.get_experiment("0")
    assert default.artifact_location.startswith((tmp_path / "ws" / ".mlops" / "artifacts").as_uri())
    assert not (elsewhere / "mlruns").exists()
    assert os.listdir(elsewhere) == []
