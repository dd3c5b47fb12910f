"""`jupyter mlops models …`: the terminal surface of the model registry.

    jupyter mlops models list                         # models, latest version, aliases
    jupyter mlops models show NAME                    # its versions (run, metrics, data, notebook)
    jupyter mlops models aliases NAME [--alias A] [--limit N]
    jupyter mlops models gate NAME --dataset NAME@VERSION [--challenger REF] [--against REF]
                              [--metric METRIC[:MIN_DELTA]]... [--promote] [--reason TEXT]
    jupyter mlops models promote NAME REF --reason TEXT [--alias champion]
    jupyter mlops models lineage NAME VERSION

REF is an alias (`challenger`) or a version number (`3`, `v3`). Every command
takes `--workspace/-w` and `--json`.

Exit codes, so that "gate then promote" can run as a CI job: 0 success (a gate
that passed), 5 (`EXIT_GATE_REJECTED`) a gate that rejected the challenger,
1 bad input (an unknown model, version, alias, dataset or metric, a promotion
without a reason; the message names what exists), 3 a backend that does not
answer. Thin adapters over `jupyter_mlops.core.registry`: the same functions a
cell, the magics and the Models panel call, so a promotion made here shows in
their alias history. `add_registry_commands(sub, with_workspace)` registers all
of this on the main parser.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .cli_common import open_workspace
from .core.errors import InvalidInput
from .core.workspace import Workspace
from .render import print_json, text_table, when

#: `models gate` exit code when the gate rejected the challenger (CI fails the job on it)
EXIT_GATE_REJECTED = 5
EXIT_BAD_INPUT = 1
MAX_METRICS_SHOWN = 4


# -- shared helpers -------------------------------------------------------------------------


def _version_text(version: int | None) -> str:
    return f"v{version}" if version is not None else "-"


def _aliases_text(aliases: dict[str, int]) -> str:
    return ", ".join(f"{a}={v}" for a, v in sorted(aliases.items())) or "-"


def _metrics_text(metrics: dict[str, float]) -> str:
    shown = [f"{k}={v:.4g}" for k, v in sorted(metrics.items())
             if isinstance(v, (int, float)) and math.isfinite(v)]
    more = len(shown) - MAX_METRICS_SHOWN
    return ", ".join(shown[:MAX_METRICS_SHOWN]) + (f" (+{more} more)" if more > 0 else "") \
        if shown else "-"


def _model_of(ws: Workspace, name: str) -> Any:
    """The RegisteredModel `name` (aliases, protected); NotFound listing the models."""
    from .core.registry import list_models
    from .core.registry.models import require_model

    require_model(ws, name)
    return next(m for m in list_models(workspace=ws) if m.name == name)


# -- list / show ----------------------------------------------------------------------------
def cmd_models_list(args: argparse.Namespace) -> int:
    from .core.registry import list_models

    with open_workspace(args) as ws:
        models = list_models(workspace=ws)
    if args.json:
        print_json([m.to_dict() for m in models])
        return 0
    if not models:
        print("no registered models")
        return 0
    print(text_table(["model", "latest", "aliases", "protected"],
                 [[m.name, _version_text(m.latest_version), _aliases_text(m.aliases),
                   ", ".join(m.protected) or "-"] for m in models], rule=True))
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    from .core.registry import list_model_versions

    with open_workspace(args) as ws:
        model = _model_of(ws, args.name)
        versions = list_model_versions(args.name, workspace=ws)
    if args.json:
        print_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
        return 0
    print(f"{model.name}: {len(versions)} version(s); aliases {_aliases_text(model.aliases)}; "
          f"protected {', '.join(model.protected) or '-'}")
    rows = [[f"v{v.version}", ", ".join(f"@{a}" for a in v.aliases) or "-", v.run_id or "-",
             when(v.created), _metrics_text(v.metrics),
             ", ".join(d.get("ref") or d.get("name") or "?" for d in v.datasets) or "-",
             v.source_notebook or "-"] for v in versions]
    head = ["version", "aliases", "run", "created (UTC)", "metrics", "datasets", "notebook"]
    print(text_table(head, rows, rule=True))
    return 0


# -- aliases --------------------------------------------------------------------------------
def cmd_models_aliases(args: argparse.Namespace) -> int:
    from .core.registry import alias_history
    from .core.registry.aliases import require_known_alias

    with open_workspace(args) as ws:
        model = _model_of(ws, args.name)
        history = alias_history(args.name, args.alias, limit=args.limit, workspace=ws)
        if args.alias is not None:
            require_known_alias(args.name, args.alias, model.aliases, history, ws)
    current = ({args.alias: model.aliases[args.alias]} if args.alias in model.aliases else {}) \
        if args.alias is not None else dict(model.aliases)
    if args.json:
        print_json({"name": model.name, "aliases": current, "protected": model.protected,
                     "history": [m.to_dict() for m in history]})
        return 0
    rows = [[f"@{a}", f"v{v}", "yes" if a in model.protected else ""]
            for a, v in sorted(current.items())]
    print(text_table(["alias", "version", "protected"], rows, rule=True) if rows
          else "no current aliases")
    print()
    if not history:
        print("no recorded alias moves")
        return 0
    print(text_table(["time (UTC)", "alias", "from", "to", "via", "actor", "reason"], [
        [when(m.ts), f"@{m.alias}", _version_text(m.from_version), _version_text(m.to_version),
         m.via + (f" #{m.gate_id}" if m.gate_id is not None else ""), m.actor or "-",
         m.reason or "-"] for m in history], rule=True))
    return 0


# -- gate -----------------------------------------------------------------------------------
def parse_metric_options(items: Sequence[str] | None) -> dict[str, dict[str, float]] | None:
    """`["f1:0.01", "roc_auc"]` → `{"f1": {"min_delta": 0.01}, "roc_auc": {}}` (the core
    checks the names and gives a bare metric its default rule, no worse than the champion)."""
    if not items:
        return None
    out: dict[str, dict[str, float]] = {}
    for item in items:
        name, sep, delta = item.partition(":")
        name = name.strip()
        if not name:
            raise InvalidInput(f"--metric expects METRIC or METRIC:MIN_DELTA, got {item!r}.")
        if name in out:
            raise InvalidInput(f"--metric {name} is given twice.")
        rules: dict[str, float] = {}
        if sep:
            try:
                rules["min_delta"] = float(delta)
            except ValueError:
                raise InvalidInput(f"--metric {item!r}: the minimum improvement {delta!r} is not "
                                   "a number (e.g. f1:0.01, or f1:-0.005 to tolerate a small "
                                   "regression).") from None
            if not math.isfinite(rules["min_delta"]):
                raise InvalidInput(f"--metric {item!r}: the minimum improvement must be finite.")
        out[name] = rules
    return out


def cmd_models_gate(args: argparse.Namespace) -> int:
    from .core.registry import gate

    metrics = parse_metric_options(args.metric)
    with open_workspace(args) as ws:
        result = gate(args.name, challenger=args.challenger, against=args.against,
                      dataset=args.dataset, metrics=metrics, target=args.target,
                      task=args.task, promote=args.promote, alias=args.alias,
                      reason=args.reason, workspace=ws)
    if args.json:
        print_json({**result.to_dict(), "verdict": result.verdict(),
                     "headline": result.headline()})
    else:
        print(result.table())
    if result.passed:
        return 0
    print(f"gate #{result.id} rejected {result.name} v{result.challenger}"
          f"{' (nothing promoted)' if args.promote else ''}: " + "; ".join(result.reasons),
          file=sys.stderr)
    return EXIT_GATE_REJECTED


# -- promote --------------------------------------------------------------------------------
def cmd_models_promote(args: argparse.Namespace) -> int:
    from .core.registry import promote
    from .core.registry.aliases import REASON_RULE

    with open_workspace(args) as ws:
        try:
            move = promote(args.name, args.ref, args.alias, args.reason, workspace=ws)
        except InvalidInput as exc:
            if (exc.details or {}).get("rule") == REASON_RULE:
                raise InvalidInput(f"{exc.message} Pass --reason TEXT, e.g. --reason "
                                   f"\"gate #12 passed\".", details=exc.details) from None
            raise
        model = _model_of(ws, args.name)
    version = model.aliases.get(args.alias)
    if args.json:
        print_json({"moved": move is not None, "move": move.to_dict() if move else None,
                     "alias": args.alias, "version": version,
                     "protected": args.alias in model.protected})
    elif move is None:
        print(f"{args.name}@{args.alias} already points at v{version}: nothing moved")
    else:
        print(f"{move.summary()} (by {move.actor or '?'})")
    return 0


# -- lineage --------------------------------------------------------------------------------
def _node_detail(node: Any) -> str:
    """The one fact per node that a reader of a CI log wants next to its label."""
    data = node.data
    if node.kind in ("run", "pipeline_run"):
        detail = data.get("run_id") or ""
    elif node.kind in ("notebook", "executed_notebook"):
        detail = "" if data.get("path") == node.label else data.get("path") or ""
        params = data.get("parameters")
        if params:
            detail += " parameters " + json.dumps(params, default=str)
    elif node.kind == "dataset_version":
        detail = f"{data['rows']} rows" if data.get("rows") is not None else ""
        if data.get("context"):
            detail += f"{', ' if detail else ''}{data['context']}"
    elif node.kind == "model_version":
        aliases = data.get("aliases") or []
        detail = " ".join(f"@{a}" for a in aliases)
    elif node.kind == "git_commit":
        detail = data.get("branch") or ""
    else:
        detail = ""
    if node.missing:
        detail += f"{'; ' if detail else ''}missing: {data.get('note') or 'gone'}"
    return f" ({detail})" if detail else ""


def lineage_tree(graph: Any) -> str:
    """The graph depth-first from its root, children indented under what they made."""
    lines: list[str] = []
    seen: set[str] = set()

    def walk(node_id: str, relation: str, depth: int) -> None:
        node = graph.node(node_id)
        arrow = f"{relation} -> " if relation else ""
        if node_id in seen:
            lines.append(f"{'  ' * depth}{arrow}{node.kind}: {node.label} (see above)")
            return
        seen.add(node_id)
        lines.append(f"{'  ' * depth}{arrow}{node.kind}: {node.label}{_node_detail(node)}")
        for edge in graph.edges:
            if edge.source == node_id:
                walk(edge.target, edge.relation, depth + 1)

    walk(graph.root, "", 0)
    return "\n".join(lines)


def cmd_models_lineage(args: argparse.Namespace) -> int:
    from .core.registry import lineage

    with open_workspace(args) as ws:
        graph = lineage(args.name, args.version, workspace=ws)
    if args.json:
        print_json(graph.to_dict())
    else:
        print(lineage_tree(graph))
    return 0


# -- wiring ---------------------------------------------------------------------------------
def add_registry_commands(sub: Any, with_workspace: Callable[[argparse.ArgumentParser],
                                                             argparse.ArgumentParser]) -> None:
    """Register `models …` on the `jupyter mlops` sub-parsers."""
    models = sub.add_parser("models", help="the model registry: versions, aliases, gate, promote")
    msub = models.add_subparsers(dest="models_command", metavar="COMMAND")
    models.set_defaults(func=lambda _args: (models.print_help(), 0)[1])

    with_workspace(msub.add_parser(
        "list", help="registered models: latest version, aliases, protected aliases")
    ).set_defaults(func=cmd_models_list)

    show = with_workspace(msub.add_parser(
        "show", help="a model's versions: aliases, run, metrics, datasets, notebook"))
    show.add_argument("name")
    show.set_defaults(func=cmd_models_show)

    aliases = with_workspace(msub.add_parser(
        "aliases", help="a model's aliases now and the history of their moves"))
    aliases.add_argument("name")
    aliases.add_argument("--alias", "-a", default=None, help="only this alias")
    aliases.add_argument("--limit", type=int, default=50, help="moves shown (default 50)")
    aliases.set_defaults(func=cmd_models_aliases)

    gate = with_workspace(msub.add_parser(
        "gate", help="score the challenger against the champion on a held-out dataset version; "
                     f"exit {EXIT_GATE_REJECTED} when it is rejected"))
    gate.add_argument("name")
    gate.add_argument("--dataset", "-d", required=True, metavar="NAME@VERSION",
                      help="the held-out dataset version (a tag, a hash prefix or latest)")
    gate.add_argument("--challenger", default="challenger", metavar="REF",
                      help="alias or version number (default: challenger)")
    gate.add_argument("--against", default="champion", metavar="REF",
                      help="alias or version number (default: champion)")
    gate.add_argument("--metric", "-m", action="append", metavar="METRIC[:MIN_DELTA]",
                      help="a gated metric and the improvement it needs over the champion "
                           "(repeatable; default: f1, or rmse for regression, no worse)")
    gate.add_argument("--target", default=None, help="the label column (default: guessed)")
    gate.add_argument("--task", choices=("classification", "regression"), default=None)
    gate.add_argument("--promote", action="store_true",
                      help="move the alias to the challenger when it passes")
    gate.add_argument("--alias", default=None,
                      help="the alias --promote moves (default: the --against alias)")
    gate.add_argument("--reason", "-r", default=None, help="recorded with the promotion")
    gate.set_defaults(func=cmd_models_gate)

    promote = with_workspace(msub.add_parser(
        "promote", help="move an alias (champion) to a version, with a required reason"))
    promote.add_argument("name")
    promote.add_argument("ref", metavar="REF", help="version number or alias to promote")
    promote.add_argument("--reason", "-r", default=None, help="why (required)")
    promote.add_argument("--alias", "-a", default="champion",
                         help="the alias to move (default: champion)")
    promote.set_defaults(func=cmd_models_promote)

    lineage = with_workspace(msub.add_parser(
        "lineage", help="a version's lineage: run, notebook, dataset versions, commit"))
    lineage.add_argument("name")
    lineage.add_argument("version", help="version number or alias")
    lineage.set_defaults(func=cmd_models_lineage)
