"""Run context without MLflow: notebook discovery, git, environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_mlops.core.tracking import context
from jupyter_mlops.core.workspace import Workspace

CONTEXT_ENV = ("JUPYTER_MLOPS_NOTEBOOK", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME")
server_lookup = context.notebook_from_server  # the real one, before fixtures stub it


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch):
    for name in CONTEXT_ENV:
        monkeypatch.delenv(name, raising=False)
    # no real Jupyter server of the machine may answer for these tests
    monkeypatch.setattr(context, "notebook_from_server", lambda *a, **k: None)
    context.refresh_context()
    yield
    context.refresh_context()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.resolve(tmp_path, db_url="sqlite://", tracking_uri="sqlite://")


def test_environment_hash_and_requirements_are_stable():
    env = context.environment()
    assert re.fullmatch(r"[0-9a-f]{16}", env.hash)
    lines = env.requirements.splitlines()
    assert lines == sorted(lines) and len(lines) == len(set(lines))
    assert any(line.startswith("mlflow==") for line in lines)
    assert context.environment() is env  # cached: a run start must not rescan site-packages
    context.refresh_context()
    assert context.environment().hash == env.hash


def test_papermill_variables_win_and_resolve_against_the_workspace(ws, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_NOTEBOOK", "pipelines/train.ipynb")
    monkeypatch.setenv("JUPYTER_MLOPS_OUTPUT_NOTEBOOK", ".mlops/runs/abc/train.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(ws.root / "other.ipynb"))
    ctx = context.collect_context(ws)
    assert ctx.notebook == ws.root / "pipelines" / "train.ipynb"
    assert ctx.default_experiment == "train"
    tags = ctx.tags()
    assert tags["mlops.notebook"] == "pipelines/train.ipynb"
    assert tags["mlops.output_notebook"] == ".mlops/runs/abc/train.ipynb"
    assert tags["mlflow.source.name"] == str(ws.root / "pipelines" / "train.ipynb")
    assert tags["mlflow.source.type"] == "NOTEBOOK"


def test_jupyter_session_name_is_used_while_the_file_exists(ws, monkeypatch):
    notebook = ws.root / "explore.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    calls = []
    monkeypatch.setattr(context, "notebook_from_server",
                        lambda *a, **k: calls.append(1) or ws.root / "renamed.ipynb")
    notebook.write_text("{}")
    assert context.notebook_paths(ws) == (notebook, None)
    assert calls == []  # cheap path: no server query
    notebook.unlink()  # renamed in the UI after the kernel started: ask the server
    assert context.notebook_paths(ws) == (ws.root / "renamed.ipynb", None)


def test_no_notebook_means_default_experiment(ws):
    ctx = context.collect_context(ws)
    assert ctx.notebook is None and ctx.default_experiment == "Default"
    assert "mlops.notebook" not in ctx.tags()


def test_kernel_id_from_connection_file():
    argv = ["/x/ipykernel_launcher.py", "-f", "/run/jupyter/kernel-1b2c-33.json"]
    assert context.kernel_id(argv) == "1b2c-33"
    assert context.kernel_id(["python", "script.py"]) is None


class _Sessions(BaseHTTPRequestHandler):
    sessions: list = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path != "/base/api/sessions" or self.headers.get("Authorization") != "token s3cr3t":
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps(self.sessions).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_notebook_found_through_the_servers_sessions(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sessions)
    _Sessions.sessions = [
        {"path": "a/other.ipynb", "kernel": {"id": "k-other"}},
        {"path": "a/mine.ipynb", "kernel": {"id": "k-mine"}},
    ]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    port = server.server_address[1]
    (runtime / "jpserver-1.json").write_text(json.dumps({
        "url": f"http://127.0.0.1:{port}/base/", "token": "s3cr3t", "pid": os.getpid(),
        "root_dir": str(tmp_path / "root")}))
    (runtime / "jpserver-2.json").write_text(json.dumps({  # a dead server's leftover file
        "url": "http://127.0.0.1:1/", "token": "", "pid": 2 ** 22 + 12345}))
    try:
        context.refresh_context()
        found = server_lookup("k-mine", runtime_dir=str(runtime))
        assert found == (tmp_path / "root" / "a" / "mine.ipynb").resolve()
        assert server_lookup("k-unknown", runtime_dir=str(runtime)) is None
    finally:
        server.shutdown()
        server.server_close()


def test_unanswering_server_falls_back_quickly(tmp_path):
    with socket.socket() as sock:  # accepts the connection, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        (tmp_path / "jpserver-9.json").write_text(json.dumps({
            "url": f"http://127.0.0.1:{port}/", "token": "t", "pid": os.getpid(), "root_dir": "/"}))
        started = time.monotonic()
        assert server_lookup("k-1", runtime_dir=str(tmp_path), timeout=0.3) is None
        assert time.monotonic() - started < 2


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_info(tmp_path):
    assert context.git_info(tmp_path) == {}  # not a repository: no tags, no error
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (tmp_path / "f.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "f.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://user:pw@example.com/r.git"],
                   check=True)
    context.refresh_context()
    tags = context.git_info(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", tags["mlflow.source.git.commit"])
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlops.git.dirty"] == "false"
    assert tags["mlflow.source.git.repoURL"] == "https://user:***@example.com/r.git"
    (tmp_path / "f.py").write_text("x = 2\n")
    assert context.git_info(tmp_path)["mlops.git.dirty"] == "false"  # cached for a few seconds
    context.refresh_context()
    assert context.git_info(tmp_path)["mlops.git.dirty"] == "true"
    (tmp_path / "untracked.csv").write_text("a\n")
    subprocess.run([*git, "checkout", "-q", "f.py"], check=True)
    context.refresh_context()
    assert context.git_info(tmp_path)["mlops.git.dirty"] == "false"  # untracked files don't count
