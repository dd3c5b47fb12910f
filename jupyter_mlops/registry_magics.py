"""`%register`, `%%gate` and `%models`: the notebook surface of the model registry.

    %register 3f2a…c9 churn --alias challenger        # a run's logged model
    %register model churn --dataset train@latest       # a fitted model in the notebook
    %gate churn --dataset holdout@v3 --metric f1 --min-delta 0.01
    %%gate churn --dataset holdout@v3 --promote --reason "weekly retrain"
    f1: min_delta=0.01
    roc_auc: min=0.7
    %models              # registered models (a table widget)
    %models churn        # its versions, aliases and alias history

Thin adapters over `jupyter_mlops.core.registry`: parse the line, call the
core, show the answer; errors a user can fix are one UsageError line.
`%%gate` (also `%gate` on one line: IPython refuses a cell magic with an empty
body) prints its pass/fail table and leaves the `GateResult` in `_gate`;
with `--strict` a rejected challenger fails the cell (and so a papermill
pipeline stops there).
"""

from __future__ import annotations

import argparse
import html
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.error import UsageError

from .core import registry as core
from .core.errors import MLOpsError

REGISTER_USAGE = ("%register RUN_ID|URI|VARIABLE NAME [--alias ALIAS] [--tag k=v]... "
                  "[--dataset NAME@VERSION] [--target COLUMN] [--reason TEXT]")
GATE_USAGE = ("%%gate NAME --dataset NAME@VERSION [--challenger A] [--against A] "
              "[--metric M [--min X] [--max X] [--min-delta X] [--min-relative X]] "
              "[--target COLUMN] [--promote] [--alias A] [--reason TEXT] [--strict]\n"
              "  cell lines: `metric: min_delta=0.01, min=0.7` (fn=VARIABLE for a custom metric)")
MODELS_USAGE = "%models [NAME]"


class _Parser(argparse.ArgumentParser):
    """argparse that reports instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\nUsage: {self.usage}")


def _reporting(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MLOpsError as exc:
            raise UsageError(exc.message) from None

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} expects key=value, got {item!r}.")
        out[key.strip()] = value.strip()
    return out


# -- %register ------------------------------------------------------------------------------
def _register_parser() -> _Parser:
    parser = _Parser(prog="%register", usage=REGISTER_USAGE, add_help=False)
    parser.add_argument("source")
    parser.add_argument("name")
    parser.add_argument("--alias", "-a")
    parser.add_argument("--tag", "-t", action="append", default=[])
    parser.add_argument("--dataset", "-d")
    parser.add_argument("--target")
    parser.add_argument("--reason", "-r")
    parser.add_argument("--description")
    return parser


@_reporting
def register_magic(line: str, namespace: Mapping[str, Any]) -> core.ModelVersion:
    """`%register RUN_ID NAME [--alias challenger]`; RUN_ID may also be a runs:/ or
    models:/ URI, or the name of a fitted model variable of this notebook."""
    args = _register_parser().parse_args(shlex.split(line))
    source: Any = args.source
    value = namespace.get(args.source)
    if value is not None and not isinstance(value, str):
        source = value  # a fitted model (or a ModelVersion) held in a variable
    elif isinstance(value, str):
        source = value  # a variable holding a run id
    return core.register_model(source, args.name, alias=args.alias,
                               tags=_pairs(args.tag, "--tag") or None, dataset=args.dataset,
                               target=args.target, reason=args.reason,
                               description=args.description)


# -- %%gate ---------------------------------------------------------------------------------
def _gate_parser() -> _Parser:
    parser = _Parser(prog="%%gate", usage=GATE_USAGE, add_help=False)
    parser.add_argument("name")
    parser.add_argument("--dataset", "-d", required=True)
    parser.add_argument("--challenger", default="challenger")
    parser.add_argument("--against", default="champion")
    parser.add_argument("--metric", "-m")
    parser.add_argument("--min", type=float, dest="min_")
    parser.add_argument("--max", type=float, dest="max_")
    parser.add_argument("--min-delta", type=float)
    parser.add_argument("--min-relative", type=float)
    parser.add_argument("--lower-is-better", action="store_true")
    parser.add_argument("--target")
    parser.add_argument("--task", choices=("classification", "regression"))
    parser.add_argument("--promote", action="store_true")
    parser.add_argument("--alias")
    parser.add_argument("--reason", "-r")
    parser.add_argument("--strict", action="store_true")
    return parser


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a number.") from None


def parse_metric_lines(cell: str, namespace: Mapping[str, Any]
                       ) -> tuple[dict[str, dict[str, Any]], dict[str, Callable[..., float]]]:
    """`f1: min_delta=0.01, min=0.7` lines → metric rules; `fn=VAR` makes a custom metric."""
    metrics: dict[str, dict[str, Any]] = {}
    custom: dict[str, Callable[..., float]] = {}
    for number, raw in enumerate(cell.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            name, _, rest = line.partition(" ")
        name = name.strip()
        if not name:
            raise UsageError(f"%%gate line {number}: expected `metric: rule=value, …`, "
                             f"got {raw!r}.")
        rules: dict[str, Any] = {}
        for item in rest.replace(",", " ").split():
            key, eq, value = item.partition("=")
            if not eq:
                raise UsageError(f"%%gate line {number}: expected rule=value, got {item!r}.")
            key = key.strip().replace("-", "_")
            if key == "fn":
                fn = namespace.get(value)
                if not callable(fn):
                    raise UsageError(f"%%gate line {number}: {value!r} is not a function of "
                                     "this notebook.")
                custom[name] = fn
            elif key == "higher_is_better":
                rules[key] = value.strip().lower() in ("1", "true", "yes")
            else:
                rules[key] = _number(value, f"%%gate line {number}, {key}")
        metrics[name] = rules
    return metrics, custom


def _line_metric(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    rules = {key: value for key, value in (("min", args.min_), ("max", args.max_),
                                           ("min_delta", args.min_delta),
                                           ("min_relative", args.min_relative))
             if value is not None}
    if args.lower_is_better:
        rules["higher_is_better"] = False
    if args.metric is None:
        if rules:
            raise UsageError("--min/--max/--min-delta/--min-relative apply to a --metric; name "
                             "it, or write one `metric: rule=value` line per metric in the cell.")
        return {}
    return {args.metric: rules}


@_reporting
def gate_magic(line: str, cell: str, namespace: Any) -> core.GateResult:
    """`%%gate NAME --dataset holdout@v3 --metric f1 --min-delta 0.01`: prints a pass/fail table."""
    args = _gate_parser().parse_args(shlex.split(line))
    metrics, custom = parse_metric_lines(cell or "", namespace)
    for name, rules in _line_metric(args).items():
        metrics.setdefault(name, {}).update(rules)
    result = core.gate(args.name, challenger=args.challenger, against=args.against,
                       dataset=args.dataset, metrics=metrics or None, target=args.target,
                       promote=args.promote, custom_metrics=custom or None, task=args.task,
                       alias=args.alias, reason=args.reason)
    print(result.table())
    if isinstance(namespace, dict):
        namespace["_gate"] = result
    if args.strict and not result.passed:
        raise UsageError(f"Gate #{result.id} rejected v{result.challenger} of {result.name}: "
                         + "; ".join(result.reasons))
    return result


# -- %models --------------------------------------------------------------------------------
class _Html:
    """Rich output without widgets (a saved notebook keeps it)."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


def _table(rows: list[dict[str, Any]], empty: str, css: str) -> str:
    if not rows:
        return f'<p class="jp-mlops-empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row.values()) + "</tr>"
                   for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _badges(aliases: Mapping[str, int] | list[str], protected: list[str]) -> str:
    names = list(aliases)
    return " ".join(
        f'<span class="jp-mlops-badge{" jp-mlops-badge-protected" if a in protected else ""}"'
        f' title="{"protected" if a in protected else "alias"}">@{html.escape(a)}'
        f"{' → v' + str(aliases[a]) if isinstance(aliases, Mapping) else ''}</span>"
        for a in sorted(names))


def models_html() -> str:
    gates = {}
    for result in core.list_gate_results(limit=1000):
        gates.setdefault(result.name, result)
    rows = []
    for m in core.list_models():
        last = gates.get(m.name)
        rows.append({
            "model": f'<span data-mlops-model="{html.escape(m.name)}">{html.escape(m.name)}</span>',
            "latest": f"v{m.latest_version}" if m.latest_version else "",
            "aliases": _badges(m.aliases, m.protected),
            "last gate": "" if last is None else
            f"#{last.id} {'passed' if last.passed else 'rejected'} (v{last.challenger})",
            "updated": m.updated.strftime("%Y-%m-%d %H:%M") if m.updated else "",
            "description": html.escape(m.description or ""),
        })
    return _table(rows, "No registered models yet.", "jp-mlops-models-table")


def versions_html(name: str) -> str:
    protected = core.protected_aliases(name)
    rows = []
    for v in core.list_model_versions(name):
        metrics = ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items())[:6])
        rows.append({
            "version": f"v{v.version}", "aliases": _badges(v.aliases, protected),
            "run": html.escape(v.run_name or (v.run_id or "")[:12]),
            "flavor": html.escape(v.flavor or ""),
            "datasets": html.escape(", ".join(d.get("ref") or d["name"] for d in v.datasets)),
            "notebook": html.escape(v.source_notebook or ""),
            "metrics": html.escape(metrics),
            "created": v.created.strftime("%Y-%m-%d %H:%M") if v.created else "",
        })
    history = [{"when": m.ts.strftime("%Y-%m-%d %H:%M:%S"), "alias": f"@{html.escape(m.alias)}",
                "from": "—" if m.from_version is None else f"v{m.from_version}",
                "to": "—" if m.to_version is None else f"v{m.to_version}",
                "who": html.escape(m.actor or ""), "via": m.via,
                "why": html.escape(m.reason or "")}
               for m in core.alias_history(name, limit=50)]
    return (f"<h4>{html.escape(name)}</h4>"
            + _table(rows, "No versions yet.", "jp-mlops-versions-table")
            + "<h4>alias history</h4>"
            + _table(history, "No alias moves yet.", "jp-mlops-alias-history"))


def models_widget() -> Any:
    """The models table with a picker showing a model's versions; plain HTML without ipywidgets."""
    overview = models_html()
    names = [m.name for m in core.list_models()]
    try:
        import ipywidgets as widgets
    except ImportError:
        return _Html(overview)
    table = widgets.HTML(overview)
    if not names:
        return table
    picker = widgets.Dropdown(options=names, description="versions of")
    detail = widgets.HTML(versions_html(names[0]))

    def show(change: dict[str, Any]) -> None:
        detail.value = versions_html(change["new"])

    picker.observe(show, names="value")
    box = widgets.VBox([table, picker, detail])
    box.add_class("jp-mlops-models")
    return box


@_reporting
def models_magic(line: str) -> Any:
    """`%models` lists registered models; `%models churn` its versions and alias history."""
    args = shlex.split(line)
    if len(args) > 1:
        raise UsageError(f"Usage: {MODELS_USAGE}")
    if args:
        return _Html(versions_html(args[0]))
    return models_widget()


def register_registry_magics(ipython: Any) -> None:
    """Register `%register`, `%%gate` and `%models` on a shell."""

    def register(line: str) -> Any:
        return register_magic(line, ipython.user_ns)

    def gate(line: str, cell: str | None = None) -> None:
        gate_magic(line, cell or "", ipython.user_ns)

    register.__doc__ = register_magic.__doc__
    gate.__doc__ = gate_magic.__doc__
    ipython.register_magic_function(register, "line", "register")
    # line and cell: IPython refuses a `%%gate` cell with an empty body, so the
    # one-metric form also works as a line magic (`%gate churn --dataset … --metric f1`)
    ipython.register_magic_function(gate, "line_cell", "gate")
    ipython.register_magic_function(models_magic, "line", "models")
