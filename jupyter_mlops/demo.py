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
            new_markdown_cell("## The data\n\nTwo snapshots of the customers: the reference "
                              "the baseline was trained on, and the current month."),
            new_code_cell("%datasets customers"),
            new_code_cell("reference = jupyter_mlops.load_dataset('customers', 'reference')\n"
                          "current = jupyter_mlops.load_dataset('customers', 'current')\n"
                          "jupyter_mlops.get_version('customers', 'current')"),
            new_markdown_cell("## Drift\n\nThe current customers drifted from the reference:"),
            new_code_cell("report = jupyter_mlops.drift(reference.drop(columns=['customer_id', "
                          "'churned']), current.drop(columns=['customer_id', 'churned']))\n"
                          "report"),
            new_code_cell("report.figure('support_calls')"),
            new_markdown_cell("## Experiments\n\nThe baseline run, with its notebook, git "
                              "commit and data inputs:"),
            new_code_cell("%mlops runs --experiment churn"),
        ])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, path)
    return f"notebook {path.name}"


def _snapshot_data(ws: Workspace) -> str:
    from .core.datasets import snapshot
    from .examples import churn

    reference = snapshot(churn.generate(5000, seed=1), "customers", tags=["reference"],
                         description="Customers of the first quarter (training data)",
                         workspace=ws)
    current = snapshot(churn.generate(5000, shift=0.6, seed=2), "customers", tags=["current"],
                       description="Customers of the latest month (the population shifted)",
                       workspace=ws)
    return f"customers@{reference.short} (reference), customers@{current.short} (current)"


def _train_baseline(ws: Workspace) -> str:
    from .core.datasets import load_dataset
    from .core.tracking import start_run
    from .examples import churn

    with start_run(experiment="churn", name="baseline", params={"model": "logistic", "C": 1.0},
                   workspace=ws) as run:
        frame = load_dataset("customers", "reference", workspace=ws)
        _, metrics = churn.train(frame, c=1.0)
        run.log(**metrics)
    return f"run {run.id[:8]} in experiment churn: " + ", ".join(
        f"{k} {v:.3f}" for k, v in metrics.items())


def _check_drift(ws: Workspace) -> str:
    from .core.datasets import load_dataset
    from .core.drift import drift

    report = drift(load_dataset("customers", "reference", workspace=ws),
                   load_dataset("customers", "current", workspace=ws),
                   columns=list(_churn_features()))
    drifted = [c.name for c in report.columns if c.drifted]
    record_event(ws, "drift.check", f"customers reference vs current: {report.n_drifted} of "
                 f"{report.n_evaluated} columns drifted", subject="customers",
                 data={"share": report.share, "drifted": drifted})
    return f"{report.n_drifted}/{report.n_evaluated} columns drifted ({', '.join(drifted)})"


def _churn_features() -> tuple[str, ...]:
    from .examples import churn

    return churn.FEATURES


def _log_event(ws: Workspace) -> str:
    event = record_event(ws, "demo.created", "Demo workspace created", subject=str(ws.root))
    return f"event #{event.id} in the activity log"


STEPS: tuple[DemoStep, ...] = (
    DemoStep("Create the state database", _init_state),
    DemoStep("Create the MLflow store", _init_mlflow),
    DemoStep("Write the welcome notebook", _write_welcome),
    DemoStep("Snapshot the customer data (reference and current)", _snapshot_data),
    DemoStep("Train the baseline model in a tracked run", _train_baseline),
    DemoStep("Check drift of the current customers", _check_drift),
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
