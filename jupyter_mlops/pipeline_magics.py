"""Pipelines in a notebook: `%pipeline run FILE -p k=v`, `%pipeline validate FILE`,
`%pipeline runs`, and `%mlops_output NAME [EXPRESSION]` inside a step notebook.

Thin over `jupyter_mlops.core.pipelines`: `%pipeline run` is `run_pipeline()`
with a progress bar (tqdm.auto: a widget in JupyterLab). A run that does not
succeed raises a one-line UsageError naming the failing step and cell, so a
cell (and a papermill notebook running it) fails there.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from .core.errors import MLOpsError

HELP = """Usage:
  %pipeline run FILE [-p key=value …] [--no-wait] [--no-track]
                                  run a .pipeline.yaml or a notebook (one-step pipeline)
  %pipeline validate FILE         check a spec: steps, parameters, next fire times
  %pipeline runs [--limit N]      recent runs
  %pipeline cancel RUN_ID
  %mlops_output NAME [EXPR]       record a step output (EXPR, else the variable NAME)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{HELP}")


def _run_parser() -> _Parser:
    parser = _Parser(prog="%pipeline run", add_help=False)
    parser.add_argument("file")
    parser.add_argument("-p", "--param", action="append", default=[])
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--no-track", action="store_true")
    return parser


class _Progress:
    """A step bar and a cell bar (tqdm.auto), fed from the run's events."""

    def __init__(self, steps: int) -> None:
        from tqdm.auto import tqdm

        self.step_bar = tqdm(total=steps, desc="steps", unit="step")
        self.cell_bar = tqdm(total=0, desc="cells", unit="cell")
        self.cells: dict[str, tuple[int, int | None]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("type") == "progress":
            self.cells[event["step"]] = (int(event.get("cells_done") or 0),
                                         event.get("cells_total"))
            done = sum(d for d, _t in self.cells.values())
            self.cell_bar.total = max(done, sum(t or d for d, t in self.cells.values()))
            self.cell_bar.n = done
            self.cell_bar.set_postfix_str(event["step"], refresh=False)
            self.cell_bar.refresh()
        elif event.get("type") == "step" and event.get("status") in (
                "succeeded", "failed", "skipped", "cancelled"):
            self.step_bar.update(1)
            self.step_bar.set_postfix_str(f"{event['step']} {event['status']}")

    def close(self) -> None:
        self.cell_bar.close()
        self.step_bar.close()


def pipeline_command(line: str) -> Any:
    args = shlex.split(line)
    command = args[0] if args else "help"
    if command == "help":
        print(HELP)
        return None
    if command == "run":
        return _run(args[1:])
    if command == "validate":
        if len(args) != 2:
            raise UsageError(f"%pipeline validate takes one file.\n{HELP}")
        from .core.pipelines.graph import build_graph
        from .core.pipelines.spec import load_spec
        from . import workspace

        spec = load_spec(args[1], workspace())
        graph = build_graph(spec)
        print(f"{args[1]}: valid pipeline {spec.name!r}; steps in order: "
              f"{' → '.join(graph.order())}; parameters: "
              f"{', '.join(spec.parameters) or 'none'}")
        return None
    if command == "runs":
        from .core.pipelines.runs import list_pipeline_runs

        limit = int(args[2]) if len(args) == 3 and args[1] == "--limit" else 10
        for info in list_pipeline_runs(limit=limit):
            steps = " ".join(f"{s.name}:{s.status}" for s in info.steps)
            print(f"{info.id}  {info.status:<10} {info.pipeline}  {steps}")
        return None
    if command == "cancel":
        if len(args) != 2:
            raise UsageError(f"%pipeline cancel takes a run id.\n{HELP}")
        from .core.pipelines.runs import cancel_pipeline_run

        return cancel_pipeline_run(args[1])
    raise UsageError(f"Unknown %pipeline command {command!r}.\n{HELP}")


def _run(argv: list[str]) -> Any:
    from .core.pipelines.runs import run_pipeline
    from .core.pipelines.spec import load_spec, parse_cli_parameters
    from . import workspace

    opts = _run_parser().parse_args(argv)
    ws = workspace()
    spec = load_spec(opts.file, ws)
    params = parse_cli_parameters(opts.param)
    progress = None if opts.no_wait else _Progress(len(spec.steps))
    try:
        run = run_pipeline(spec, params, wait=not opts.no_wait, workspace=ws, on_event=progress,
                           track=not opts.no_track, trigger="magic")
    finally:
        if progress is not None:
            progress.close()
    if opts.no_wait:
        return run
    info = run.info()
    if info.status != "succeeded":
        from IPython.display import display

        display(run)
        raise UsageError(f"Pipeline run {run.id} {info.status}: {info.error or 'no detail'}")
    return run


def output_command(line: str, user_ns: dict[str, Any]) -> Any:
    """`%mlops_output rows` records the variable `rows`; `%mlops_output rows len(df)` an
    expression evaluated in the notebook's namespace."""
    from .core.pipelines.outputs import output

    name, _, expr = line.strip().partition(" ")
    if not name:
        raise UsageError("Usage: %mlops_output NAME [EXPRESSION]")
    if expr.strip():
        value = eval(expr, user_ns)  # noqa: S307 - the user's own expression, in their kernel
    elif name in user_ns:
        value = user_ns[name]
    else:
        raise UsageError(f"%mlops_output: no variable {name!r}; give an expression: "
                         f"%mlops_output {name} EXPRESSION")
    output(name, value)
    return None


@magics_class
class PipelineMagics(Magics):
    @line_magic
    def pipeline(self, line: str) -> Any:
        try:
            return pipeline_command(line)
        except MLOpsError as exc:
            raise UsageError(exc.message) from None

    @line_magic
    def mlops_output(self, line: str) -> Any:
        try:
            return output_command(line, self.shell.user_ns)
        except MLOpsError as exc:
            raise UsageError(exc.message) from None


def register_pipeline_magics(ipython: Any) -> None:
    ipython.register_magics(PipelineMagics)
