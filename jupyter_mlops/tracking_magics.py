"""The notebook surface of tracking: `%%track`, `log()`, a runs table and metric charts.

Thin over `jupyter_mlops.core.tracking`: the magic only parses its line, runs
the cell inside `start_run()` and reads the variables it was asked to log.
"""

from __future__ import annotations

import argparse
import html
import shlex
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class

from .core.errors import Conflict, InvalidInput, MLOpsError
from .core.tracking.runs import Run, active_run, start_run
from .core.tracking.search import RunSummary, metric_history, search_runs
from .core.tracking.values import as_metric_value
from .core.workspace import Workspace


def log(step: int | None = None, **metrics: Any) -> None:
    """Log metrics to the active run (`jupyter_mlops.log(loss=0.3)` inside `%%track`)."""
    run = active_run()
    if run is None:
        raise Conflict("No active run: call log() inside a `%%track` cell or a "
                       "`with jupyter_mlops.start_run():` block.")
    run.log(step=step, **metrics)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as a one-line UsageError instead of exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


def _track_parser() -> _Parser:
    parser = _Parser(prog="%%track", add_help=False)
    parser.add_argument("-e", "--experiment")
    parser.add_argument("-n", "--name")
    parser.add_argument("--log", default="", help="comma-separated variables to log as metrics")
    parser.add_argument("-p", "--param", action="append", default=[], help="key=value, repeatable")
    parser.add_argument("--nested", action="store_true")
    return parser


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param expects key=value, got {pair!r}.")
        params[key] = value
    return params


def track_cell(line: str, cell: str, shell: Any) -> Run:
    """Run `cell` in a new run; FAILED (and a UsageError) if it raises.

    The cell's own traceback is shown by `run_cell`; the error raised here is
    one line, and it makes the outer cell fail so papermill stops there too.
    """
    opts = _track_parser().parse_args(shlex.split(line))
    names = [n.strip() for n in opts.log.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise InvalidInput(f"--log takes variable names, got {name!r}.")
    run = start_run(experiment=opts.experiment, name=opts.name, params=_params(opts.param),
                    nested=opts.nested)
    failure: BaseException | None = None
    problems: list[str] = []
    logged: list[str] = []
    try:
        with run:
            result = shell.run_cell(cell, store_history=False)
            failure = result.error_before_exec or result.error_in_exec
            if failure is not None:
                raise failure
            values = {}
            for name in names:
                if name not in shell.user_ns:
                    problems.append(f"{name!r} is not defined")
                    continue
                try:
                    values[name] = as_metric_value(name, shell.user_ns[name])
                except InvalidInput as exc:
                    problems.append(exc.message)
            run.log(**values)
            logged = list(values)
    except BaseException as exc:
        if failure is not None and exc is failure:
            raise UsageError(f"The cell raised {type(exc).__name__}; run {run.id} ended "
                             f"{run.status}.") from None
        raise
    print(f"mlops: run {run.name!r} ({run.id}) {run.status.lower()}"
          + (f"; logged {', '.join(logged)}" if logged else ""))
    if problems:
        raise UsageError(f"Run {run.id} finished, but these were not logged: "
                         + "; ".join(problems))
    return run


@magics_class
class TrackingMagics(Magics):
    """`%%track [--experiment E] [--name N] [--log a,b] [--param k=v] [--nested]`."""

    @cell_magic
    def track(self, line: str, cell: str) -> None:
        try:
            track_cell(line, cell, self.shell)
        except MLOpsError as exc:
            raise UsageError(exc.message) from None


# -- runs table ---------------------------------------------------------------------------
_BASE_SORTS = [("started", "attributes.start_time"), ("name", "attributes.run_name"),
               ("status", "attributes.status"), ("ended", "attributes.end_time")]


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def render_runs_html(runs: Sequence[RunSummary], max_params: int = 8, max_metrics: int = 8) -> str:
    """The table as HTML; rows carry `data-mlops-run-id` so the frontend can open the run."""
    params = sorted({k for r in runs for k in r.params})[:max_params]
    metrics = sorted({k for r in runs for k in r.metrics})[:max_metrics]
    esc = html.escape
    head = ["run", "status", "started", "duration", "notebook", "commit",
            *(f"params.{p}" for p in params), *(f"metrics.{m}" for m in metrics)]
    rows = []
    for r in runs:
        commit = (r.git_commit or "")[:8] + ("*" if r.git_dirty else "")
        cells = [
            f'<a class="jp-mlops-run-link" href="#mlops-run/{esc(r.id)}" '
            f'data-mlops-run-id="{esc(r.id)}" title="{esc(r.id)}">{esc(r.name or r.id)}</a>',
            esc(r.status), esc(_when(r.start_time)), esc(_duration(r.duration_ms)),
            esc(r.notebook or ""), esc(commit),
            *(esc(r.params.get(p, "")) for p in params),
            *(f'<span style="font-variant-numeric: tabular-nums">{_number(r.metrics.get(m))}</span>'
              for m in metrics),
        ]
        rows.append(f'<tr data-mlops-run-id="{esc(r.id)}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        return '<p class="jp-mlops-empty">No runs yet.</p>'
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    return (f'<table class="jp-mlops-runs-table"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def runs_table(experiment: str | None = None, *, filter: str | None = None, page_size: int = 50,
               workspace: Workspace | None = None) -> Any:
    """A widget: the runs table, sorted in the store by the chosen column, paged."""
    import ipywidgets as widgets

    first = search_runs(experiment, filter=filter, page_size=page_size, workspace=workspace)
    sorts = list(_BASE_SORTS)
    sorts += [(f"metrics.{k}", f"metrics.`{k}`")
              for k in sorted({k for r in first.runs for k in r.metrics})]
    sorts += [(f"params.{k}", f"params.`{k}`")
              for k in sorted({k for r in first.runs for k in r.params})]
    column = widgets.Dropdown(options=sorts, value="attributes.start_time", description="Sort by")
    descending = widgets.Checkbox(value=True, description="descending", indent=False)
    table = widgets.HTML(render_runs_html(first.runs))
    more = widgets.Button(description="Next page", disabled=not first.next_page_token)
    restart = widgets.Button(description="First page", disabled=True)
    state: dict[str, Any] = {"token": first.next_page_token}

    def load(token: str | None) -> None:
        order = f"{column.value} {'DESC' if descending.value else 'ASC'}"
        page = search_runs(experiment, filter=filter, order_by=order, page_size=page_size,
                           page_token=token, workspace=workspace)
        table.value = render_runs_html(page.runs)
        state["token"] = page.next_page_token
        more.disabled = not page.next_page_token
        restart.disabled = token is None

    column.observe(lambda _change: load(None), names="value")
    descending.observe(lambda _change: load(None), names="value")
    more.on_click(lambda _button: load(state["token"]))
    restart.on_click(lambda _button: load(None))
    box = widgets.VBox([widgets.HBox([column, descending, restart, more]), table])
    box.add_class("jp-mlops-runs")
    box.reload = lambda: load(None)  # for callers that log more runs and want to refresh
    return box


def runs_command(args: list[str], workspace: Workspace | None = None) -> Any:
    """`%mlops runs [--experiment E] [--filter F] [--limit N]`: the table widget."""
    parser = _Parser(prog="%mlops runs", add_help=False)
    parser.add_argument("-e", "--experiment")
    parser.add_argument("-f", "--filter")
    parser.add_argument("-l", "--limit", type=int, default=50)
    opts = parser.parse_args(args)
    return runs_table(opts.experiment, filter=opts.filter, page_size=opts.limit,
                      workspace=workspace)


def metric_history_figure(run_ids: str | Sequence[str], keys: str | Sequence[str], *,
                          workspace: Workspace | None = None) -> Any:
    """A plotly figure, one line per (run, metric) against step; renders inline."""
    import plotly.graph_objects as go

    runs = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    metric_keys = [keys] if isinstance(keys, str) else list(keys)
    fig = go.Figure()
    for run_id in runs:
        for key in metric_keys:
            history = metric_history(run_id, key, workspace=workspace)
            label = key if len(runs) == 1 else f"{run_id[:8]} · {key}"
            fig.add_trace(go.Scatter(
                x=[p.step for p in history.points], y=[p.value for p in history.points],
                mode="lines+markers" if len(history.points) <= 50 else "lines", name=label))
    title = ", ".join(metric_keys) + (f" — run {runs[0][:8]}" if len(runs) == 1 else "")
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="value",
                      template="plotly_white", margin={"t": 48, "r": 16, "b": 40, "l": 48})
    return fig
