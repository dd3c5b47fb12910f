"""Deployments from a notebook: `deploy()`, `deployments()` and the `Deployment` handle.

    dep = deploy("churn@champion", name="churn-api")            # local, one version
    dep.predict(df)                                             # pandas in, pandas out
    dep.set_strategy("canary", model="churn@challenger",
                     steps=[5, 25, 50, 100], bake=60)           # a rollout
    dep.rollout, dep.traffic, dep.health()                      # progress, split, figures
    dep.promote() / dep.rollback() / dep.stop() / dep.start()

A deployment is a router process of its own (`router_main.py`) that owns its
model versions, so it outlives the kernel or server that created it. This
module is the workbench side: it resolves model references through the
workspace's MLflow registry, writes the desired state to the state DB,
starts the router process and waits until it reports, and sends commands to
a running deployment's control endpoint (authenticated with a per-deployment
token kept in the state DB). Everything a `Deployment` shows comes from the
running router when it answers, else from the state DB (where the router
writes its status, roles, weights and health figures every few seconds).

The parts: `naming.py` (names, the workspace), `references.py` (model
references), `processes.py` (ports, router processes), `state.py` (the
rows in the state DB), `handle.py` (`Deployment`), `scoring.py` (payloads
and answers of `Deployment.predict`). This module keeps the public API and
re-exports the names other modules import from it.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Conflict, InvalidInput, MLOpsError
from ..workspace import Workspace
from .handle import DeployedVersion, Deployment
from .naming import _workspace, validate_name
from .processes import ROUTER_MODULE, check_port, free_port
from .references import ResolvedModel, resolve_model
from .scoring import ModelError
from .state import (
    _create,
    _default_rollout,
    _record,
    _row,
    _set_stable,
    _update,
    unknown_deployment,
)
from .strategies import parse_strategy
from .targets import target_names

__all__ = [
    "ROUTER_MODULE", "DeployedVersion", "Deployment", "ModelError", "ResolvedModel",
    "check_port", "deploy", "deployments", "free_port", "get_deployment", "prediction_frame",
    "read_predictions", "reconcile", "resolve_model", "shadow_comparison", "validate_name",
]


# -- the API -----------------------------------------------------------------------------------
def deploy(model: Any, name: str | None = None, target: str = "local", port: int | None = None,
           strategy: Any = None, *, host: str = "127.0.0.1",
           target_options: dict[str, Any] | None = None, workspace: Workspace | None = None,
           timeout: float | None = None, wait: bool = True, **strategy_params: Any) -> Deployment:
    """Serve `model` behind a stable endpoint and return its `Deployment`.

    A new name creates the deployment (one version, all traffic) and starts
    its router process; `port=None` picks a free port, a port in use is a
    `Conflict` naming it. On a running deployment, a different model is
    rolled out with `strategy` (`"canary"`, `"blue_green"`, `"ab"`,
    `"shadow"`, or a dict of parameters; extra keyword arguments are strategy
    parameters such as `steps=[5, 25, 50, 100], bake=60`); without one, with
    the deployment's last strategy, or as an instant blue-green switch once
    the new version is healthy. On a stopped deployment, the model becomes
    its version and the deployment starts again, on its port.
    """
    ws = _workspace(workspace)
    if target not in target_names():
        raise InvalidInput(f"Unknown deploy target {target!r}; available: "
                           f"{', '.join(target_names())}.", details={"target": target})
    spec = parse_strategy(strategy, **strategy_params) \
        if strategy is not None or strategy_params else None
    resolved = resolve_model(model, workspace=ws)
    name = validate_name(name if name is not None else
                         re.sub(r"[^a-z0-9_-]+", "-", resolved.model_name.lower()).strip("-_")
                         or "model")
    timeout = timeout if timeout is not None else (900.0 if target == "docker" else 180.0)
    existing = _row(ws, name)
    if existing is None:
        port = port if port is not None else free_port(host)
        check_port(host, port)
        _create(ws, name, resolved, target, target_options, host, port, spec)
        _record(ws, name, "created", f"Deployment {name} created for {resolved.key} "
                f"({target}, {host}:{port})", {"version": resolved.key, "target": target,
                                                "port": port})
        dep = Deployment(name, workspace=ws)
        return dep._start(timeout=timeout, wait=wait)
    dep = Deployment(name, workspace=ws)
    if existing["target"] != target:
        raise Conflict(f"Deployment {name} runs on the {existing['target']!r} target; deploy "
                       f"to {target!r} under another name, or delete it first.")
    if dep._alive(existing):
        if port is not None and port != existing["port"]:
            raise Conflict(f"Deployment {name} listens on port {existing['port']}; stop it "
                           f"before moving it to {port}.")
        live = [v for v in existing["versions"] if v["role"] in ("stable", "candidate")]
        if any(v["key"] == resolved.key and v["role"] == "stable" for v in live) and \
                not any(v["role"] == "candidate" for v in live) and spec is None:
            return dep
        rollout = spec or _default_rollout(existing)
        dep._command("rollout", version=resolved.to_dict(), strategy=rollout.to_dict(),
                     timeout=timeout)
        return dep
    # stopped, failed, or its process is gone: restart it with this model
    if port is not None and port != existing["port"]:
        check_port(host, port)
        _update(ws, name, port=port)
    if target_options is not None:
        _update(ws, name, target_options=target_options)
    if spec is not None:
        _update(ws, name, strategy=spec.to_dict())
    _set_stable(ws, name, resolved, target)
    return dep._start(timeout=timeout, wait=wait)



def deployments(*, workspace: Workspace | None = None) -> list[Deployment]:
    """Every deployment of the workspace, newest first."""
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow

    ws = _workspace(workspace)
    with ws.session() as session:
        names = session.scalars(select(DeploymentRow.name)
                                .order_by(DeploymentRow.created.desc())).all()
    return [Deployment(name, workspace=ws) for name in names]


def get_deployment(name: str, *, workspace: Workspace | None = None) -> Deployment:
    ws = _workspace(workspace)
    if _row(ws, validate_name(name)) is None:
        raise unknown_deployment(ws, name)
    return Deployment(name, workspace=ws)


def reconcile(*, workspace: Workspace | None = None, timeout: float = 180.0,
              wait: bool = False) -> list[dict[str, Any]]:
    """After a server (or machine) restart: re-attach to every deployment whose router still
    runs, and restart those meant to run whose router is gone, on their own ports."""
    ws = _workspace(workspace)
    report = []
    for dep in deployments(workspace=ws):
        row = _row(ws, dep.name)
        if row is None or row["desired"] != "running":
            continue
        if dep._alive(row):
            report.append({"deployment": dep.name, "action": "attached", "pid": row["router_pid"]})
            continue
        try:
            dep._start(timeout=timeout, wait=wait)
            report.append({"deployment": dep.name, "action": "restarted",
                           "pid": dep._row().get("router_pid")})
        except MLOpsError as exc:
            report.append({"deployment": dep.name, "action": "failed", "error": exc.message})
    return report


def _require_log(ws: Workspace, deployment: str) -> None:
    """A typo must not read as "no requests yet": an unknown name is NotFound naming the
    deployments, unless a log of that name is left (a deleted deployment's log stays)."""
    from .predictions import deployment_log_dir

    if deployment_log_dir(ws.predictions_dir, validate_name(deployment)).is_dir():
        return
    get_deployment(deployment, workspace=ws)  # NotFound with the names that exist


def read_predictions(deployment: str, *, last: int | None = None, since: Any = None,
                     until: Any = None, version: str | None = None, shadow: bool | None = None,
                     workspace: Workspace | None = None) -> Any:
    """A deployment's prediction log, one row per request (see `predictions.read_log`)."""
    from .predictions import read_log

    ws = _workspace(workspace)
    _require_log(ws, deployment)
    return read_log(ws.predictions_dir, validate_name(deployment), last=last, since=since,
                    until=until, version=version, shadow=shadow)


def prediction_frame(deployment: str, *, last: int | None = None, since: Any = None,
                     until: Any = None, version: str | None = None,
                     shadow: bool | None = False, workspace: Workspace | None = None) -> Any:
    """Logged inputs, one row per scored row, with `prediction`: drift's "current" data."""
    from .predictions import log_frame

    ws = _workspace(workspace)
    _require_log(ws, deployment)
    return log_frame(ws.predictions_dir, validate_name(deployment), last=last, since=since,
                     until=until, version=version, shadow=shadow)


def shadow_comparison(deployment: str, *, since: Any = None, last: int | None = None,
                      workspace: Workspace | None = None) -> Any:
    """Agreement rate and prediction drift between a deployment's champion and shadow."""
    from .shadow import compare_shadow

    ws = _workspace(workspace)
    return compare_shadow(ws.predictions_dir, validate_name(deployment), since=since, last=last)

