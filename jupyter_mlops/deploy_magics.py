"""`%deploy` and `%deployments`: the notebook surface of deployments.

    %deploy churn@champion --name churn-api
    %deploy churn@challenger --name churn-api --strategy canary --steps 5,25,50,100 --bake 60
    %deploy churn/4 --name churn-api --strategy ab --weights 90,10 --sticky-header X-User
    %deploy churn/4 --name churn-docker --target docker --base-image my/serving:3.11
    %deployments                      a table of every deployment
    %deployments churn-api            one deployment: status and traffic split

Thin over `jupyter_mlops.core.deploy`: the magic parses its line and calls
`deploy()`; the `Deployment` it returns renders its status and traffic split
in the cell. Errors a user can fix are one-line UsageErrors.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError

from .core.errors import MLOpsError

DEPLOY_USAGE = ("%deploy <model-ref> [--name NAME] [--target local|docker] [--port N] "
                "[--host H] [--strategy single|blue_green|canary|ab|shadow] [--steps 5,25,50,100] "
                "[--bake SECONDS] [--weights 90,10] [--sticky-header H] [--mirror-fraction F] "
                "[--max-error-rate-increase F] [--max-latency-increase F] [--min-requests N] "
                "[--base-image IMAGE] [--python-env pip|base|copy] [--no-wait]")
DEPLOYMENTS_USAGE = "%deployments [name]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\nUsage: {self.usage}")


def _deploy_parser() -> _Parser:
    parser = _Parser(prog="%deploy", usage=DEPLOY_USAGE, add_help=False)
    parser.add_argument("model")
    parser.add_argument("--name", "-n")
    parser.add_argument("--target", "-t", default="local")
    parser.add_argument("--port", "-p", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--strategy", "-s")
    parser.add_argument("--steps")
    parser.add_argument("--bake", type=float)
    parser.add_argument("--weights")
    parser.add_argument("--sticky-header")
    parser.add_argument("--mirror-fraction", type=float)
    parser.add_argument("--max-error-rate-increase", type=float)
    parser.add_argument("--max-latency-increase", type=float)
    parser.add_argument("--min-requests", type=int)
    parser.add_argument("--base-image")
    parser.add_argument("--python-env")
    parser.add_argument("--no-wait", action="store_true")
    return parser


def _numbers(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.replace("→", ",").split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--{what} takes comma-separated numbers, got {text!r}.") from None


def deploy_magic(line: str) -> Any:
    """%deploy <model-ref> [--name NAME] [--target docker] [--strategy canary --steps … --bake …]"""
    from .core.deploy import deploy

    try:
        opts = _deploy_parser().parse_args(shlex.split(line))
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"{exc}\nUsage: {DEPLOY_USAGE}") from None
    params = {
        "steps": _numbers(opts.steps, "steps"),
        "bake": opts.bake,
        "weights": _numbers(opts.weights, "weights"),
        "sticky_header": opts.sticky_header,
        "mirror_fraction": opts.mirror_fraction,
        "max_error_rate_increase": opts.max_error_rate_increase,
        "max_latency_increase": opts.max_latency_increase,
        "min_requests": opts.min_requests,
    }
    params = {key: value for key, value in params.items() if value is not None}
    target_options = {key: value for key, value in (("base_image", opts.base_image),
                                                    ("python_env", opts.python_env))
                      if value is not None} or None
    if params and not opts.strategy:
        raise UsageError(f"{', '.join('--' + k.replace('_', '-') for k in params)} need "
                         "--strategy.")
    try:
        return deploy(opts.model, name=opts.name, target=opts.target, port=opts.port,
                      strategy=opts.strategy, host=opts.host, target_options=target_options,
                      wait=not opts.no_wait, **params)
    except MLOpsError as exc:
        raise UsageError(exc.message) from None


class DeploymentsTable:
    """What `%deployments` returns: a table in a cell, a list in code."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self._states = [item.to_dict() for item in items]

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        if not self._states:
            return "No deployments."
        return "\n".join(
            f"{s['name']:<24} {s['status']:<9} {s['url']:<24} "
            + ", ".join(f"{k} {w:g}%" for k, w in s["traffic"].items())
            for s in self._states)

    def _repr_html_(self) -> str:
        from .core.deploy.render import deployments_html

        return deployments_html(self._states)


def deployments_magic(line: str) -> Any:
    """%deployments [name]: every deployment, or one with its traffic split."""
    from .core.deploy import deployments, get_deployment

    args = shlex.split(line)
    try:
        if len(args) > 1:
            raise UsageError(f"Usage: {DEPLOYMENTS_USAGE}")
        if args:
            return get_deployment(args[0])
        return DeploymentsTable(deployments())
    except MLOpsError as exc:
        raise UsageError(exc.message) from None


def register_deploy_magics(ipython: Any) -> None:
    """Register `%deploy` and `%deployments` (called from `magics.register`)."""
    ipython.register_magic_function(deploy_magic, "line", "deploy")
    ipython.register_magic_function(deployments_magic, "line", "deployments")
