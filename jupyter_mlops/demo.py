"""The demo workspace behind `jupyter mlops demo`.

It is the README's first command and grows with each capability: every step
is a plain function over the same public API a notebook uses, so the demo
doubles as an end-to-end smoke test of the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .core.events import record_event
from .core.workspace import Workspace

WELCOME = """# Welcome to jupyter-mlops

This workspace keeps its state in `.mlops/`: the state database, the MLflow
store and artifacts, dataset objects, pipeline runs and prediction logs.
Open the **MLOps** panel in the left sidebar to see its status.

Run the cells below: the kernel finds the same workspace as the server."""


@dataclass
class DemoStep:
    title: str
    run: Callable[[Workspace], str]


@dataclass
class DemoResult:
    workspace: Workspace
    lines: list[str] = field(default_factory=list)


def _init_state(ws: Workspace) -> str:
    ws.ensure_layout()
    _ = ws.engine
    return f"state DB ready at {ws.info()['state_db']}"


def _init_mlflow(ws: Workspace) -> str:
    return ws.mlflow.ping()


def _write_welcome(ws: Workspace) -> str:
    path = ws.root / "welcome.ipynb"
    if not path.exists():
        nb = new_notebook(cells=[
            new_markdown_cell(WELCOME),
            new_code_cell("%load_ext jupyter_mlops\n%mlops info"),
            new_code_cell("%mlops health"),
            new_code_cell("import jupyter_mlops\njupyter_mlops.info()"),
        ])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, path)
    return f"notebook {path.name}"


def _log_event(ws: Workspace) -> str:
    event = record_event(ws, "demo.created", "Demo workspace created", subject=str(ws.root))
    return f"event #{event.id} in the activity log"


STEPS: tuple[DemoStep, ...] = (
    DemoStep("Create the state database", _init_state),
    DemoStep("Create the MLflow store", _init_mlflow),
    DemoStep("Write the welcome notebook", _write_welcome),
    DemoStep("Record the demo in the activity log", _log_event),
)


def create_demo(
    path: str | Path, progress: Callable[[int, str], None] | None = None
) -> DemoResult:
    """Create (or refresh) a demo workspace in `path`; safe to run again."""
    root = Path(path).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    result = DemoResult(Workspace.resolve(root))
    for index, step in enumerate(STEPS):
        if progress:
            progress(index, step.title)
        result.lines.append(f"{step.title}: {step.run(result.workspace)}")
    return result
