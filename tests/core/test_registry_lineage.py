"""Lineage: model version → run → executed notebook (injected parameters) → source notebook,
→ dataset versions read, → git commit and environment; renders and serialises."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.core.datasets import delete_version, load_dataset, snapshot
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.registry import lineage, register_model
from jupyter_mlops.core.tracking import active_run, refresh_context, start_run
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

OUTPUT = ".mlops/runs/pipe-1/train.ipynb"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True)
    return done.stdout.strip()


def _notebook(path: Path, cells: list, papermill: dict | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    if papermill is not None:
        nb.metadata["papermill"] = papermill
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository holding the training notebook; the workspace is its root."""
    for name in ("JPY_SESSION_NAME", "JUPYTER_MLOPS_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    params = nbformat.v4.new_code_cell("alpha = 1.0\nsplit = 'train'")
    params.metadata["tags"] = ["parameters"]
    _notebook(root / "train.ipynb", [params, nbformat.v4.new_code_cell("fit()")])
    _git(root, "add", "train.ipynb")
    _git(root, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm", "nb")
    injected = nbformat.v4.new_code_cell('# Parameters\nalpha = 0.5\nsplit = "holdout"\n'
                                         "layers = [8, 4]\nseed = int('3')\n")
    injected.metadata["tags"] = ["injected-parameters"]
    _notebook(root / OUTPUT, [params, injected, nbformat.v4.new_code_cell("fit()")],
              {"input_path": "train.ipynb", "output_path": OUTPUT,
               "parameters": {"alpha": 0.5, "split": "holdout"}, "exception": None})
    refresh_context()  # forget git and environment seen by earlier tests
    yield root
    refresh_context()
    assert active_run() is None
    assert not (tmp_path / "mlruns").exists()


def test_lineage_walks_back_to_notebook_data_commit_and_environment(repo, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ws = Workspace.resolve(repo)
    frame = churn.generate(200, seed=5)
    data = churn.feature_matrix(frame).assign(churned=frame["churned"].to_numpy())
    train = snapshot(data, "train", workspace=ws)
    with start_run(experiment="pipeline", name="retrain", workspace=ws) as parent:
        pass
    monkeypatch.setenv("JUPYTER_MLOPS_PARENT_RUN_ID", parent.id)  # as a pipeline step's kernel
    monkeypatch.setenv("JUPYTER_MLOPS_NOTEBOOK", "train.ipynb")
    monkeypatch.setenv("JUPYTER_MLOPS_OUTPUT_NOTEBOOK", OUTPUT)
    with start_run(experiment="churn", name="step-train", workspace=ws) as run:
        df = load_dataset("train", workspace=ws)
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
            df.drop(columns="churned"), df["churned"])
        mv = register_model(model, "lin", dataset=df, workspace=ws)
    assert mv.source_notebook == OUTPUT and mv.notebook == "train.ipynb"

    graph = lineage("lin/1", workspace=ws)
    assert graph.root == "model:lin/1" and lineage(mv, workspace=ws).to_dict() == graph.to_dict()
    run_node = graph.first("run")
    assert run_node.data["run_id"] == run.id and run_node.open["type"] == "run"
    assert graph.origins(graph.root) == [run_node]

    executed = graph.first("executed_notebook")
    assert executed.data["path"] == OUTPUT and executed.open == {"type": "notebook",
                                                                 "path": OUTPUT}
    assert executed.data["parameters"] == {"alpha": 0.5, "split": "holdout", "layers": [8, 4],
                                           "seed": "int('3')"}
    assert executed.data["input_path"] == "train.ipynb" and executed.data["injected_cell"]
    source = graph.first("notebook")
    assert source.data["path"] == "train.ipynb" and not source.missing
    assert graph.origins(executed.id) == [source]

    dataset = graph.first("dataset_version")
    assert (dataset.data["name"], dataset.data["version"]) == ("train", train.version)
    assert dataset.data["rows"] == 200 and dataset.open["type"] == "dataset"

    commit = graph.first("git_commit")
    assert commit.data["commit"] == _git(repo, "rev-parse", "HEAD")
    assert commit.data["dirty"] is False
    env = graph.first("environment")
    assert env.data["hash"] and env.open["path"] == "environment/requirements.txt"
    assert graph.first("pipeline_run").data["run_id"] == parent.id
    relations = {(e.source.split(":")[0], e.relation, e.target.split(":")[0])
                 for e in graph.edges}
    assert relations == {("model", "produced_by", "run"), ("run", "child_of", "run"),
                         ("run", "executed", "executed_notebook"),
                         ("executed_notebook", "rendered_from", "notebook"),
                         ("run", "read", "dataset"), ("run", "at_commit", "git"),
                         ("run", "in_environment", "env")}

    as_json = json.loads(graph.to_json())
    assert {n["kind"] for n in as_json["nodes"]} == {
        "model_version", "run", "pipeline_run", "executed_notebook", "notebook",
        "dataset_version", "git_commit", "environment"}
    markup = graph._repr_html_()
    assert markup.count('class="jp-mlops-lineage-node"') == len(graph.nodes) and "<svg" in markup
    figure = graph.figure()
    assert sum(len(t.x) for t in figure.data[1:]) == len(graph.nodes)
    assert "executed_notebook" in str(graph)
    assert lineage(run.id, workspace=ws).root == f"run:{run.id}"

    # what is gone stays in the graph, marked
    (repo / OUTPUT).unlink()
    delete_version("train", train.version, workspace=ws)
    again = lineage("lin", workspace=ws)  # the latest version
    assert again.first("executed_notebook").missing
    assert again.first("dataset_version").missing
    assert "no version" in again.first("dataset_version").data["note"]

    with pytest.raises(NotFound, match="not registered"):
        lineage("ghost@champion", workspace=ws)
    with pytest.raises(InvalidInput):
        lineage(42, workspace=ws)
    ws.close()
