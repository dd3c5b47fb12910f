"""The demo's folder: the churn project copied from the package, and the demo's own record.

`.mlops/demo.json` says whether the loop ran to its end (and how long each
stage took), so running the demo again on the same folder knows what to do:
a finished demo is left as it is (its deployment started again when JupyterLab
opens on it), an interrupted one is cleared and made again, and a folder that
is not a demo workspace is refused rather than written into.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..core.errors import InvalidInput
from ..core.workspace import Workspace

PROJECT_PACKAGE = "jupyter_mlops.examples"
PROJECT_FOLDER = "churn_project"
PROJECT_FILES = ("prepare.ipynb", "train.ipynb", "evaluate.ipynb", "walkthrough.ipynb",
                 "retrain.pipeline.yaml")
#: what a reset removes (nothing else in the folder is touched)
DEMO_ENTRIES = (*PROJECT_FILES, "welcome.ipynb", "data", ".mlops", ".ipynb_checkpoints")
MARKER = "demo.json"

WELCOME = """# Welcome to jupyter-mlops

This workspace was made by `jupyter mlops demo`. It keeps its state in
`.mlops/`: the state database, the MLflow store and artifacts, dataset
objects, pipeline runs and prediction logs. Open **walkthrough.ipynb** for the
closed loop (drift → retraining → gate → canary), and the **MLOps** panels in
the left sidebar to see what the demo did.

Run the cells below: the kernel finds the same workspace as the server."""


def marker_path(root: Path) -> Path:
    return root / ".mlops" / MARKER


def read_marker(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(root).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(root: Path, data: dict[str, Any]) -> None:
    path = marker_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def folder_state(root: Path) -> str:
    """`new` (absent or empty), `complete`, `incomplete` (a demo that did not finish), or
    `foreign` (a folder with other content, or a workspace the demo did not make)."""
    if not root.exists():
        return "new"
    if not root.is_dir():
        return "foreign"
    marker = read_marker(root)
    if marker is not None:
        return "complete" if marker.get("status") == "complete" else "incomplete"
    if not any(root.iterdir()):
        return "new"
    return "foreign"


def stop_deployments(root: Path) -> list[str]:
    """Stop every running deployment of the demo workspace at `root` (before a reset)."""
    if not (root / ".mlops").is_dir():
        return []
    from ..core.deploy import deployments

    ws = Workspace.resolve(root)
    stopped = []
    try:
        for dep in deployments(workspace=ws):
            if dep.status not in ("stopped", "failed"):
                dep.stop()
                stopped.append(dep.name)
    finally:
        ws.close()
    return stopped


def reset_folder(root: Path) -> list[str]:
    """Remove what the demo made in `root` (its deployments stopped first); nothing else."""
    if folder_state(root) == "foreign":
        raise InvalidInput(f"{root} is not a demo workspace; the demo removes nothing there.")
    stopped = stop_deployments(root)
    for name in DEMO_ENTRIES:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    return stopped


def check_folder(root: Path, *, reset: bool) -> str:
    """What to do with `root`: `create` or `reuse`; clears an unfinished (or `reset`) demo.

    Refuses a folder holding anything else, naming what to do instead.
    """
    state = folder_state(root)
    if state == "foreign":
        raise InvalidInput(
            f"{root} is not empty and is not a demo workspace (no .mlops/{MARKER}); the demo "
            f"does not write into it. Give a new folder: jupyter mlops demo mlops-demo-2")
    if state == "complete" and not reset:
        return "reuse"
    if state in ("complete", "incomplete"):
        reset_folder(root)
    return "create"


def copy_project(root: Path) -> list[str]:
    """Copy the churn project into `root` (files already there are kept: they may be edited)."""
    source = resources.files(PROJECT_PACKAGE).joinpath(PROJECT_FOLDER)
    copied = []
    for name in PROJECT_FILES:
        target = root / name
        if target.exists():
            continue
        target.write_bytes(source.joinpath(name).read_bytes())
        copied.append(name)
    return copied


def write_welcome(root: Path) -> str:
    path = root / "welcome.ipynb"
    if path.exists():
        return path.name
    nb = new_notebook(cells=[
        new_markdown_cell(WELCOME),
        new_code_cell("%load_ext jupyter_mlops\n%mlops info"),
        new_code_cell("%mlops health"),
        new_code_cell("import jupyter_mlops\njupyter_mlops.info()"),
        new_markdown_cell("## The data\n\nThe customers the first champion was trained on "
                          "(`reference`) and those of the drifted window it retrained on "
                          "(`current`)."),
        new_code_cell("%datasets customers"),
        new_code_cell("reference = jupyter_mlops.load_dataset('customers', 'reference')\n"
                      "current = jupyter_mlops.load_dataset('customers', 'current')\n"
                      "jupyter_mlops.get_version('customers', 'current')"),
        new_markdown_cell("## Drift\n\nThe current customers drifted from the reference:"),
        new_code_cell("report = jupyter_mlops.drift(reference.drop(columns=['churned']), "
                      "current.drop(columns=['churned']))\nreport"),
        new_code_cell("report.figure('support_calls')"),
        new_markdown_cell("## Experiments\n\nThe training runs, with their notebook, git "
                          "commit and data inputs:"),
        new_code_cell("%mlops runs --experiment churn"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path.name


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
