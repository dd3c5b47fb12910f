"""`jupyter mlops deployments …` and `jupyter mlops alerts`: deployments and their monitors
from a shell or a CI job.

    jupyter mlops deployments list
    jupyter mlops deployments status NAME
    jupyter mlops deployments deploy NAME MODEL_REF [--strategy canary --steps 5,25,50,100 …]
    jupyter mlops deployments promote|rollback NAME [--reason TEXT]
    jupyter mlops deployments stop NAME
    jupyter mlops deployments predictions NAME [--last N]
    jupyter mlops alerts [--open] [--monitor NAME]
    jupyter mlops alerts ack ID [--note TEXT]

A thin adapter over `jupyter_mlops.core.deploy` and `jupyter_mlops.core.monitor`:
the `Deployment` handle reads the running router (else the state DB) and
sends commands to it, so a terminal, a notebook and the panel act on the
same deployments. Unknown names and commands that do not fit the state are
the core's errors (exit 1, message on stderr). Every command takes
`--workspace/-w` and `--json`. `add_deploy_commands(sub, with_workspace)`
registers all of this on the main parser.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from .core.workspace import Workspace
from .render import print_json, text_table, when

WithWorkspace = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


# -- rendering ---------------------------------------------------------------------------------
def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.resolve(getattr(args, "workspace", None))


def _number(value: Any, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _strategy_text(strategy: dict[str, Any] | None) -> str:
    from .core.deploy import parse_strategy
    from .core.errors import InvalidInput

    try:
        return parse_strategy(dict(strategy or {"kind": "single"})).describe()
    except InvalidInput:  # written by another release: show its kind, do not fail
        return str((strategy or {}).get("kind"))


def _health_word(version: dict[str, Any]) -> str:
    if version["healthy"]:
        return "healthy"
    return "unhealthy" if version["state"] == "running" else str(version["state"])


def _versions_summary(state: dict[str, Any]) -> str:
    """'churn/1 100% healthy, churn/2 0% standby healthy': the split of `list`."""
    parts = []
    for v in state["versions"]:
        role = "" if v["role"] == "stable" else f" {v['role']}"
        parts.append(f"{v['key']} {v['weight']:g}%{role} {_health_word(v)}")
    return ", ".join(parts) or "-"


def _rollout_line(state: dict[str, Any]) -> str | None:
    """The rollout in one line: a canary's step, weight and bake time left; how it ended."""
    from .core.deploy.progress import rollout_progress

    p = rollout_progress(state.get("rollout"), state.get("strategy"))
    if p is None:
        return None
    text = f"{p['kind']} of {p['candidate']}: {p['state']}"
    if p["kind"] == "canary" and p["steps"]:
        text += (f", step {p['step'] + 1}/{len(p['steps'])} at {p['weight'] or 0:g}% (steps "
                 + "→".join(f"{s:g}" for s in p["steps"]) + ")")
        if p["bake_s"] is not None:
            left = (f", {p['bake_remaining_s']:g} s left"
                    if p["bake_remaining_s"] is not None else "")
            text += f", bake {p['bake_s']:g} s{left}"
    if p["reason"]:
        text += f" — {p['reason']}"
    return text


def _deployment_lines(state: dict[str, Any], health: dict[str, dict[str, Any]],
                      events: list[dict[str, Any]]) -> str:
    lines = [f"{state['name']}  {state['status']}  {state['url']}",
             (f"  target {state['target']} · strategy {_strategy_text(state.get('strategy'))}"
              f" · router pid {state.get('router_pid') or '-'} · started "
              f"{when(state.get('started'))}")]
    if state.get("error"):
        lines.append(f"  error: {state['error']}")
    rows = []
    for v in state["versions"]:
        h = health.get(v["key"], {})
        rows.append([v["key"], v["role"], f"{v['weight']:g}%", _health_word(v),
                     h.get("requests", 0), _number(h.get("total_requests"), "{}"),
                     _number(h.get("error_rate"), "{:.1%}"), _number(h.get("p50_ms")),
                     _number(h.get("p95_ms"))])
    lines.append(text_table(["version", "role", "traffic", "health", "req (1 min)", "total",
                         "error rate", "p50 ms", "p95 ms"], rows, indent="  "))
    rollout = _rollout_line(state)
    if rollout:
        lines.append(f"  rollout: {rollout}")
    if events:
        lines.append("  recent events:")
        lines.append(text_table(["time (UTC)", "event", "message"],
                            [[when(e["ts"]), e["kind"], e["message"]] for e in events],
                            indent="    "))
    return "\n".join(lines)


def _show(state: dict[str, Any], args: argparse.Namespace, line: str) -> int:
    """What an action prints: the deployment's state as JSON, else one line."""
    if args.json:
        print_json(state)
    else:
        print(line)
    return 0


# -- deployments -------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from .core.deploy import deployments

    states = [d.to_dict() for d in deployments(workspace=_workspace(args))]
    if args.json:
        print_json(states)
        return 0
    if not states:
        print("no deployments")
        return 0
    print(text_table(["name", "status", "url", "strategy", "versions (traffic, health)"],
                 [[s["name"], s["status"], s["url"], (s.get("strategy") or {}).get("kind", "-"),
                   _versions_summary(s)] for s in states]))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .core.deploy import get_deployment
    from .core.deploy.handle import health_report

    dep = get_deployment(args.name, workspace=_workspace(args))
    state = dep.to_dict()  # one read of the router; health and traffic come from it
    health = health_report(state)
    events = dep.events(limit=args.events)
    if args.json:
        print_json({**state, "health": health, "events": events})
    else:
        print(_deployment_lines(state, health, events))
    return 0


def _numbers(text: str) -> list[float]:
    """'5,25,50,100' (or '5→25→100') as numbers, for --steps and --weights."""
    try:
        return [float(p) for p in text.replace("→", ",").split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated numbers, got {text!r}") from None


def cmd_deploy(args: argparse.Namespace) -> int:
    from .core.deploy import deploy

    params = {"steps": args.steps, "bake": args.bake, "weights": args.weights,
              "mirror_fraction": args.mirror_fraction}
    dep = deploy(args.model, name=args.name, target=args.target, port=args.port,
                 strategy=args.strategy, host=args.host, wait=not args.no_wait,
                 workspace=_workspace(args),
                 **{k: v for k, v in params.items() if v is not None})
    state = dep.to_dict()
    return _show(state, args, f"{state['name']} {state['status']} at {state['url']}  "
                              f"({_versions_summary(state)})")


def cmd_promote(args: argparse.Namespace) -> int:
    from .core.deploy import get_deployment

    dep = get_deployment(args.name, workspace=_workspace(args)).promote(reason=args.reason)
    state = dep.to_dict()
    return _show(state, args, f"{state['name']} promoted: {_versions_summary(state)}")


def cmd_rollback(args: argparse.Namespace) -> int:
    from .core.deploy import get_deployment

    dep = get_deployment(args.name, workspace=_workspace(args)).rollback(reason=args.reason)
    state = dep.to_dict()
    return _show(state, args, f"{state['name']} rolled back: {_versions_summary(state)}")


def cmd_stop(args: argparse.Namespace) -> int:
    from .core.deploy import get_deployment

    dep = get_deployment(args.name, workspace=_workspace(args)).stop()
    state = dep.to_dict()
    return _show(state, args, f"{state['name']} {state['status']} (its prediction log stays; "
                              f"`deployments deploy {state['name']} MODEL_REF` starts it again)")


def cmd_predictions(args: argparse.Namespace) -> int:
    from .core.deploy import get_deployment

    dep = get_deployment(args.name, workspace=_workspace(args))  # NotFound lists the names
    frame = dep.predictions(last=args.last)
    if args.json:
        print_json(json.loads(frame.to_json(orient="records", date_format="iso")))
        return 0
    if frame.empty:
        print(f"no predictions logged for {dep.name} (the router flushes its log every "
              f"couple of seconds)")
        return 0
    rows = [[when(r.ts) + f".{r.ts.microsecond // 1000:03d}", r.request_id or "-",
             (r.version or "-") + (" (shadow)" if r.shadow else ""), r.status,
             _number(r.latency_ms), r.error if isinstance(r.error, str) else ""]
            for r in frame.itertuples()]  # a missing error is NaN in the frame
    print(text_table(["time (UTC)", "request id", "version", "status", "latency ms", "error"],
                 rows))
    return 0


# -- alerts ------------------------------------------------------------------------------------
def cmd_alerts(args: argparse.Namespace) -> int:
    from .core.monitor import alerts

    found = alerts("open" if args.open else None, monitor=args.monitor, limit=args.limit,
                   workspace=_workspace(args))
    if args.json:
        print_json([a.to_dict() for a in found])
        return 0
    if not found:
        print("no open alerts" if args.open else "no alerts")
        return 0
    print(text_table(["id", "monitor", "deployment", "opened (UTC)", "status", "drifted columns"],
                 [[a.id, a.monitor, a.deployment, when(a.created), a.status,
                   ", ".join(a.drifted_columns) or "-"] for a in found]))
    return 0


def cmd_alert_ack(args: argparse.Namespace) -> int:
    from .core.monitor import acknowledge

    alert = acknowledge(args.id, args.note, workspace=_workspace(args))
    if args.json:
        print_json(alert.to_dict())
    else:
        print(f"alert {alert.id} of {alert.monitor}: {alert.status} by {alert.acknowledged_by}"
              + (f" ({alert.note})" if alert.note else ""))
    return 0


# -- the parsers -------------------------------------------------------------------------------
def _named(psub: Any, with_workspace: WithWorkspace, command: str, help_text: str,
           func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    parser = with_workspace(psub.add_parser(command, help=help_text))
    parser.add_argument("name", help="deployment name")
    parser.set_defaults(func=func)
    return parser


def _add_deploy(psub: Any, with_workspace: WithWorkspace) -> None:
    deploy = _named(psub, with_workspace, "deploy",
                    "serve a model version; on a running deployment, roll it out", cmd_deploy)
    deploy.add_argument("model", metavar="MODEL_REF",
                        help="churn@champion, churn/3, runs:/<id>/model, …")
    deploy.add_argument("--strategy", "-s", metavar="KIND",
                        help="replace, blue_green, canary, ab or shadow (a new model on a "
                             "running deployment; default: its last strategy)")
    deploy.add_argument("--target", "-t", default="local", help="local (default) or docker")
    deploy.add_argument("--port", "-p", type=int, default=None,
                        help="a new deployment's port (default: a free one)")
    deploy.add_argument("--host", default="127.0.0.1", help="address to listen on")
    deploy.add_argument("--steps", type=_numbers, metavar="5,25,50,100",
                        help="canary: traffic percentages of the candidate")
    deploy.add_argument("--bake", type=float, metavar="SECONDS",
                        help="canary: seconds each step bakes")
    deploy.add_argument("--weights", type=_numbers, metavar="90,10", help="ab: stable,candidate")
    deploy.add_argument("--mirror-fraction", type=float, metavar="F",
                        help="shadow: share of requests mirrored (0..1]")
    deploy.add_argument("--no-wait", action="store_true",
                        help="return once the router is launched, not when it serves")


def _add_alerts(sub: Any, with_workspace: WithWorkspace) -> None:
    alerts = with_workspace(sub.add_parser("alerts", help="drift alerts of the monitors"))
    alerts.add_argument("--open", action="store_true", help="only open alerts")
    alerts.add_argument("--monitor", "-m", default=None, help="only this monitor's alerts")
    alerts.add_argument("--limit", type=int, default=50, help="newest N (default 50)")
    alerts.set_defaults(func=cmd_alerts)
    asub = alerts.add_subparsers(dest="alerts_command", metavar="COMMAND")
    ack = with_workspace(asub.add_parser("ack", help="acknowledge an alert (a human has seen "
                                                     "it; a clean check resolves it)"))
    # given before `ack` (`alerts -w DIR ack 3`), -w/--json must survive the sub-parser,
    # which would otherwise overwrite them with its own defaults
    for action in ack._actions:
        if action.dest in ("workspace", "json"):
            action.default = argparse.SUPPRESS
    ack.add_argument("id", type=int, help="alert id (see `alerts`)")
    ack.add_argument("--note", default=None, help="what is being done about it")
    ack.set_defaults(func=cmd_alert_ack)


def add_deploy_commands(sub: Any, with_workspace: WithWorkspace) -> None:
    """Register `deployments …` and `alerts` on the `jupyter mlops` sub-parsers."""
    parent = sub.add_parser("deployments", help="list, inspect, deploy, promote, roll back "
                                                "and stop deployments")
    psub = parent.add_subparsers(dest="deployments_command", metavar="COMMAND")
    parent.set_defaults(func=lambda _args: (parent.print_help(), 0)[1])

    with_workspace(psub.add_parser(
        "list", help="every deployment: status, URL, strategy, traffic and health")
    ).set_defaults(func=cmd_list)
    status = _named(psub, with_workspace, "status",
                    "one deployment: versions, health, rollout, recent events", cmd_status)
    status.add_argument("--events", type=int, default=10, help="recent events shown (10)")
    _add_deploy(psub, with_workspace)
    for command, help_text, func in (
            ("promote", "the candidate takes all traffic now", cmd_promote),
            ("rollback", "drop the candidate, or switch back to the standby", cmd_rollback)):
        _named(psub, with_workspace, command, help_text, func).add_argument(
            "--reason", default=None, help="recorded with the event")
    _named(psub, with_workspace, "stop",
           "graceful stop: in-flight requests finish, the log is flushed", cmd_stop)
    predictions = _named(psub, with_workspace, "predictions",
                         "the last logged requests (time, version, status, latency)",
                         cmd_predictions)
    predictions.add_argument("--last", "-n", type=int, default=20, help="how many (20)")
    _add_alerts(sub, with_workspace)
