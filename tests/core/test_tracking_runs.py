"""Runs against a real MLflow SQLite store in a temporary workspace."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from jupyter_mlops.core.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from jupyter_mlops.core.tracking import active_run, get_run, refresh_context, start_run
from jupyter_mlops.core.tracking import runs as runs_module
from jupyter_mlops.core.tracking.context import environment
from jupyter_mlops.core.workspace import Workspace

CONTEXT_ENV = ("JUPYTER_MLOPS_NOTEBOOK", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME",
               "JUPYTER_MLOPS_PARENT_RUN_ID")


def make_workspace(root: Path) -> Workspace:
    mlops = root / ".mlops"
    return Workspace.resolve(root, db_url=f"sqlite:///{mlops / 'state.db'}",
                             tracking_uri=f"sqlite:///{mlops / 'mlflow.db'}",
                             artifact_root=(mlops / "artifacts").as_uri())


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = make_workspace(tmp_path_factory.mktemp("tracking-ws"))
    workspace.mlflow.client  # create the store once per module: migrations take ~1.5 s
    return workspace


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A clean cwd (to prove nothing lands in ./mlruns) and no inherited notebook context."""
    for name in CONTEXT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    leftover = active_run()
    while leftover is not None:
        leftover.end("KILLED")
        leftover = active_run()
    assert not (tmp_path / "mlruns").exists()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_finished_run_has_params_tags_metrics_and_artifacts_under_workspace(ws, tmp_path):
    import plotly.graph_objects as go

    data = tmp_path / "notes.txt"
    data.write_text("hello")
    with start_run("basic", name="first", params={"lr": 0.1, "model": {"depth": 3}},
                   tags={"team": "ml"}, workspace=ws) as run:
        assert active_run() is run
        run.log(acc=0.5)
        run.log(acc=np.float32(0.75), loss=np.array(0.2))
        run.log_params(batch=32)
        run.set_tags(stage="dev")
        run.log_artifact(data)
        assert run.log_figure(go.Figure(go.Scatter(y=[1, 3, 2])), "curve") == [
            "figures/curve.html", "figures/curve.json"]
    assert active_run() is None
    detail = get_run(run.id, ws)
    assert detail.run.status == "FINISHED" and detail.run.name == "first"
    assert detail.run.params == {"lr": "0.1", "model.depth": "3", "batch": "32"}
    assert detail.run.tags == {"team": "ml", "stage": "dev"}
    assert detail.run.metrics == {"acc": 0.75, "loss": pytest.approx(0.2)}
    paths = {a.path for a in detail.artifacts}
    assert {"notes.txt", "figures/curve.html", "figures/curve.json",
            "environment/requirements.txt"} <= paths
    # on disk under the workspace's artifact root, not ./mlruns of the cwd
    assert detail.artifact_uri.startswith(ws.artifact_root)
    local = Path(detail.artifact_uri.removeprefix("file://"))
    assert (local / "notes.txt").read_text() == "hello"
    assert '"scatter"' in (local / "figures" / "curve.json").read_text()


def test_block_that_raises_ends_failed_and_reraises(ws):
    with pytest.raises(ZeroDivisionError):
        with start_run("basic", workspace=ws) as run:
            run.log(x=1)
            1 / 0  # noqa: B018
    detail = get_run(run.id, ws)
    assert detail.run.status == "FAILED"
    assert detail.run.metrics == {"x": 1.0}
    assert detail.all_tags["mlops.error"].startswith("ZeroDivisionError")
    assert active_run() is None


def test_nested_run_is_a_child_in_the_parents_experiment(ws):
    with start_run("pipeline", workspace=ws) as parent:
        with pytest.raises(Conflict, match=parent.id):
            start_run("other", workspace=ws)
        with start_run(name="step-1", nested=True, workspace=ws) as child:
            assert active_run() is child
        assert active_run() is parent
    detail = get_run(child.id, ws)
    assert detail.run.parent_run_id == parent.id
    assert detail.run.experiment_id == parent.experiment_id


def test_parent_run_from_pipeline_environment(ws, monkeypatch):
    with start_run("pipeline", workspace=ws) as parent:
        pass
    monkeypatch.setenv("JUPYTER_MLOPS_PARENT_RUN_ID", parent.id)
    with start_run(workspace=ws) as step:
        pass
    assert get_run(step.id, ws).run.parent_run_id == parent.id
    assert step.experiment_id == parent.experiment_id


def test_ten_thousand_values_in_few_batches(ws, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_INTERVAL_S", 3600.0)  # count only size-bound flushes
    client = ws.mlflow.client
    calls: list[int] = []
    real = client.log_batch

    def spy(run_id, metrics=(), params=(), tags=(), **kwargs):
        if metrics:
            calls.append(len(metrics))
        return real(run_id, metrics=metrics, params=params, tags=tags, **kwargs)

    monkeypatch.setattr(client, "log_batch", spy)
    with start_run("batching", workspace=ws) as run:
        for i in range(10_000):
            run.log(loss=1.0 / (i + 1))
    history = client.get_metric_history(run.id, "loss")
    assert len(history) == 10_000
    assert sorted(m.step for m in history) == list(range(10_000))
    assert len(calls) <= 10 and sum(calls) == 10_000


def test_time_bound_flush_while_run_is_idle(ws, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_INTERVAL_S", 0.1)
    client = ws.mlflow.client
    with start_run("batching", workspace=ws) as run:
        run.log(step=7, epoch_loss=0.3)
        deadline = time.monotonic() + 5
        while run.unflushed and time.monotonic() < deadline:
            time.sleep(0.02)  # the daemon flusher writes it while the cell is busy elsewhere
        assert run.unflushed == 0
        assert [m.step for m in client.get_metric_history(run.id, "epoch_loss")] == [7]


def test_non_numeric_values_are_refused_at_the_call(ws):
    with start_run("basic", workspace=ws) as run:
        with pytest.raises(InvalidInput, match="'acc'") as caught:
            run.log(acc="high")
        assert isinstance(caught.value, ValueError)
        with pytest.raises(InvalidInput, match="'flag'"):
            run.log(ok=1.0, flag=True)  # one bad value: nothing from the call is kept
        with pytest.raises(InvalidInput, match="metric name"):
            run.log(**{"../x": 1.0})
        with pytest.raises(InvalidInput):
            run.log(step=1.5, y=1.0)
        assert run.unflushed == 0
    assert get_run(run.id, ws).run.metrics == {}


def test_artifact_that_does_not_exist(ws, tmp_path):
    with start_run("basic", workspace=ws) as run:
        with pytest.raises(NotFound, match="missing.csv"):
            run.log_artifact(tmp_path / "missing.csv")
        with pytest.raises(InvalidInput):
            run.log_figure({"data": []}, "../escape")


def test_dataset_input_is_recorded(ws):
    with start_run("basic", workspace=ws) as run:
        run.log_input("sales", "abc123", "mlops://datasets/sales@abc123", context="training")
    inputs = get_run(run.id, ws).inputs
    assert inputs == [{"name": "sales", "digest": "abc123", "source_type": "jupyter-mlops",
                       "source": "mlops://datasets/sales@abc123", "context": "training"}]


def test_store_down_keeps_values_and_reports_them(ws, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    run = start_run("outage", workspace=ws)
    working = run._client
    run._client = MlflowClient(f"http://127.0.0.1:{closed_port()}")  # the server went away
    try:
        for i in range(5):
            run.log(step=i, acc=i / 10)
        run.flush_interval = 0.0
        with pytest.warns(RuntimeWarning, match=r"6 metric value\(s\)"):
            run.log(step=5, acc=0.5)  # a due flush fails quietly inside the loop
        assert run.unflushed == 6
        run.log(step=6, acc=0.6)  # backing off: no new attempt, no new warning
        with pytest.raises(BackendUnavailable, match=r"7 metric value\(s\) not yet written"):
            run.end()
        assert run.unflushed == 7 and active_run() is None
    finally:
        run._client = working  # the store is back: nothing was lost
    assert run.flush() == 7
    assert get_run(run.id, ws).run.status == "FINISHED"
    assert len(working.get_metric_history(run.id, "acc")) == 7
    assert run not in runs_module._live


def test_unreachable_tracking_server_names_the_uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    uri = f"http://127.0.0.1:{closed_port()}"
    down = Workspace.resolve(tmp_path, tracking_uri=uri, db_url="sqlite://")
    with pytest.raises(BackendUnavailable, match=uri.replace(".", r"\.")):
        start_run("anything", workspace=down)
    assert active_run() is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_context_tags_notebook_git_and_environment(ws, tmp_path, monkeypatch):
    repo = tmp_path / "project"
    repo.mkdir()
    notebook = repo / "train.ipynb"
    notebook.write_text("{}")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "train.ipynb"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    monkeypatch.setenv("JUPYTER_MLOPS_NOTEBOOK", str(notebook))
    monkeypatch.setenv("JUPYTER_MLOPS_OUTPUT_NOTEBOOK", str(repo / "out" / "train-1.ipynb"))
    refresh_context()
    with start_run(workspace=ws) as run:  # experiment named after the notebook
        pass
    tags = get_run(run.id, ws).all_tags
    assert ws.mlflow.client.get_experiment(run.experiment_id).name == "train"
    assert tags["mlflow.source.name"] == str(notebook)
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlops.notebook"] == str(notebook)  # outside the workspace: absolute
    assert tags["mlops.output_notebook"] == str(repo / "out" / "train-1.ipynb")
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlops.git.dirty"] == "false"
    assert tags["mlops.env.hash"] == environment().hash
    assert tags["mlops.python"] and tags["mlops.host"] and tags["mlflow.user"]
    local = Path(get_run(run.id, ws).artifact_uri.removeprefix("file://"))
    assert (local / "environment" / "requirements.txt").read_text() == environment().requirements

    notebook.write_text('{"cells": []}')  # an uncommitted edit
    refresh_context()
    with start_run(workspace=ws) as dirty_run:
        pass
    assert get_run(dirty_run.id, ws).all_tags["mlops.git.dirty"] == "true"
    refresh_context()
