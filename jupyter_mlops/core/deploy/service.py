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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace
from .strategies import StrategySpec, parse_strategy
from .supervisor import LIVE_ROLES, deployment_dir, utcnow
from .targets import target_names
from .targets.local import pid_alive, pid_cmdline, terminate

ROUTER_MODULE = "jupyter_mlops.core.deploy.router_main"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: routers this process started, reaped when polled (no zombies in a long-lived kernel)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ModelError(MLOpsError):
    """The model raised while predicting (the model server answered 500)."""

    code = "model_error"


def _workspace(workspace: Workspace | None) -> Workspace:
    if workspace is not None:
        return workspace
    from jupyter_mlops import workspace as current

    return current()


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"Invalid deployment name {name!r}: use 1 to 63 lower-case letters, "
                           "digits, '-' or '_', starting with a letter or digit.",
                           details={"name": name})
    return name


# -- model references --------------------------------------------------------------------------
@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to one version and where its files are."""

    key: str             #: `<model>/<version>`, what X-MLOps-Version says
    model_name: str
    model_version: str
    model_ref: str       #: what the user wrote (`churn@champion`)
    model_uri: str       #: `models:/churn/3`
    source: str          #: a local folder, or an artifact URI MLflow can download
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local_path(uri: str) -> str:
    if uri.startswith("file://"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return url2pathname(urlparse(uri).path)
    return uri


def resolve_model(ref: Any, *, workspace: Workspace | None = None) -> ResolvedModel:
    """`churn@champion`, `churn/3`, `churn:3`, `churn` (latest), `models:/…`, `runs:/…`,
    or a local folder with an `MLmodel` file."""
    ws = _workspace(workspace)
    if isinstance(ref, ResolvedModel):
        return ref
    if isinstance(ref, dict) and "key" in ref:
        return ResolvedModel(**ref)
    for attr in ("name", "version"):  # a registry ModelVersion-like object
        if not hasattr(ref, attr):
            break
    else:
        ref = f"{ref.name}/{ref.version}"
    if not isinstance(ref, (str, os.PathLike)) or not str(ref).strip():
        raise InvalidInput(f"A model reference is a string like 'churn@champion', got {ref!r}.")
    text = os.fspath(ref).strip()
    path = Path(_local_path(text)).expanduser()
    if not text.startswith(("models:/", "runs:/")) and (path / "MLmodel").is_file():
        digest = hashlib.sha256((path / "MLmodel").read_bytes()).hexdigest()[:8]
        name = path.resolve().name
        return ResolvedModel(f"{name}/{digest}", name, digest, text, str(path.resolve()),
                             str(path.resolve()))
    client = ws.mlflow.client
    from mlflow.exceptions import MlflowException

    try:
        if text.startswith("runs:/"):
            rest = text[len("runs:/"):]
            run_id, _, artifact = rest.partition("/")
            artifact = artifact.strip("/") or "model"
            name = artifact.rsplit("/", 1)[-1]
            source = client.get_run(run_id).info.artifact_uri.rstrip("/") + "/" + artifact
            return ResolvedModel(f"{name}/run-{run_id[:8]}", name, f"run-{run_id[:8]}", text,
                                 text, _local_path(source), run_id)
        body = text[len("models:/"):] if text.startswith("models:/") else text
        if body.startswith("m-") and "/" not in body and "@" not in body:
            logged = client.get_logged_model(body)
            short = body[2:10]
            return ResolvedModel(f"{logged.name}/{short}", logged.name, short, text, text,
                                 _local_path(logged.artifact_location),
                                 getattr(logged, "source_run_id", None))
        registry = _registry_lookup()
        if registry is not None:  # the registry capability: its references, its messages
            as_ref, download_uri = registry
            mv, source = download_uri(ws, as_ref(body))
            return ResolvedModel(f"{mv.name}/{mv.version}", mv.name, str(mv.version), text,
                                 f"models:/{mv.name}/{mv.version}", _local_path(source),
                                 mv.run_id)
        name, version = _parse_registry_ref(body)
        if version is None:
            found = client.search_model_versions(f"name = '{name}'")
            if not found:
                raise NotFound(f"Model {name!r} has no versions in the registry.")
            mv = max(found, key=lambda v: int(v.version))
        elif version.isdigit():
            mv = client.get_model_version(name, version)
        else:
            mv = client.get_model_version_by_alias(name, version)
        source = client.get_model_version_download_uri(name, mv.version)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or \
                "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
            raise NotFound(f"No model version for {text!r} in the registry: "
                           f"{exc.message if hasattr(exc, 'message') else exc}",
                           details={"model": text}) from None
        raise BackendUnavailable(f"The MLflow registry did not answer for {text!r}: {exc}") \
            from None
    return ResolvedModel(f"{mv.name}/{mv.version}", mv.name, str(mv.version), text,
                         f"models:/{mv.name}/{mv.version}", _local_path(source), mv.run_id)


def _registry_lookup() -> tuple[Any, Any] | None:
    """The registry capability's reference parser and version lookup, when installed."""
    try:
        from ..registry.models import as_ref, download_uri
    except ImportError:
        return None
    return as_ref, download_uri


def _parse_registry_ref(text: str) -> tuple[str, str | None]:
    if "@" in text:
        name, _, alias = text.rpartition("@")
        if not name or not alias:
            raise InvalidInput(f"Cannot read model reference {text!r}; use name@alias.")
        return name, alias
    for sep in ("/", ":"):
        if sep in text:
            name, _, version = text.rpartition(sep)
            version = version[1:] if version[:1] in ("v", "V") and version[1:].isdigit() \
                else version
            if not name or not version:
                raise InvalidInput(f"Cannot read model reference {text!r}; use name/version.")
            if version.lower() == "latest":
                return name, None
            return name, version
    return text, None


# -- processes and ports -----------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port(host: str, port: int) -> None:
    """Conflict naming the port when something listens there already."""
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InvalidInput(f"port must be between 1 and 65535, got {port!r}.")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise Conflict(f"Port {port} is already in use on {host}; pick another port or "
                           "leave port=None for a free one.",
                           details={"port": port, "host": host, "reason": str(exc)}) from None


def _launch_router(ws: Workspace, name: str) -> subprocess.Popen[bytes]:
    folder = deployment_dir(ws, name)
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    ws.export_environ(env)
    env["PYTHONUNBUFFERED"] = "1"
    with open(folder / "router.log", "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting router of {name}\n"
                  .encode())
        log.flush()
        process = subprocess.Popen([sys.executable, "-m", ROUTER_MODULE, name], env=env,
                                   cwd=str(ws.root), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   close_fds=True)
    _CHILDREN[process.pid] = process
    return process


def _reap() -> None:
    for pid, process in list(_CHILDREN.items()):
        if process.poll() is not None:
            _CHILDREN.pop(pid, None)


def _router_running(pid: int | None, name: str) -> bool:
    _reap()
    if not pid or not pid_alive(pid):
        return False
    cmdline = pid_cmdline(pid)
    return not cmdline or (ROUTER_MODULE in cmdline and name in cmdline)


# -- the state DB ------------------------------------------------------------------------------
def _row(ws: Workspace, name: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            return None
        data = {c.name: getattr(row, c.name) for c in DeploymentRow.__table__.columns}
        versions = session.scalars(select(DeploymentVersionRow)
                                   .where(DeploymentVersionRow.deployment_id == row.id)
                                   .order_by(DeploymentVersionRow.id)).all()
        data["versions"] = [{c.name: getattr(v, c.name)
                             for c in DeploymentVersionRow.__table__.columns} for v in versions]
    return data


def _update(ws: Workspace, name: str, **values: Any) -> None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            raise NotFound(f"No deployment named {name!r}.")
        for key, value in values.items():
            setattr(row, key, value)
        row.updated = utcnow()


def _record(ws: Workspace, name: str, what: str, message: str,
            data: dict[str, Any] | None = None) -> None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentEventRow, DeploymentRow
    from ..events import record_event
    from ..identity import current_actor

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is not None:
            session.add(DeploymentEventRow(deployment_id=row.id, ts=utcnow(), kind=what,
                                           message=message, data=data,
                                           actor=current_actor()))
    record_event(ws, f"deploy.{what}", message, subject=name,
                 data={"deployment": name, **(data or {})})


def _set_stable(ws: Workspace, name: str, model: ResolvedModel, target: str) -> None:
    """A stopped deployment about to start with `model`: it is the only live version."""
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        assert row is not None
        versions = session.scalars(select(DeploymentVersionRow)
                                   .where(DeploymentVersionRow.deployment_id == row.id)).all()
        kept = False
        for version in versions:
            if version.role == "stable" and version.key == model.key and not kept:
                kept = True  # the same version again: keep its row (and its history)
                version.weight = 100.0
            elif version.role in LIVE_ROLES:
                version.role, version.weight = "retired", 0.0
        row.rollout = None
        if kept:
            return
        session.add(DeploymentVersionRow(
            deployment_id=row.id, key=model.key, model_name=model.model_name,
            model_version=model.model_version, model_ref=model.model_ref,
            model_uri=model.model_uri, source=model.source, run_id=model.run_id, target=target,
            role="stable", weight=100.0, state="starting", healthy=False, created=utcnow()))


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


def _default_rollout(row: dict[str, Any]) -> StrategySpec:
    try:
        spec = parse_strategy(row.get("strategy") or "single")
    except InvalidInput:
        spec = StrategySpec()
    if spec.kind == "single":
        return parse_strategy("blue_green", auto_promote=True)
    return spec


def _create(ws: Workspace, name: str, model: ResolvedModel, target: str,
            target_options: dict[str, Any] | None, host: str, port: int,
            spec: StrategySpec | None) -> None:
    from sqlalchemy.exc import IntegrityError

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow
    from ..identity import current_actor

    now = utcnow()
    try:
        with ws.session() as session:
            row = DeploymentRow(name=name, target=target, target_options=target_options,
                                host=host, port=port, desired="running", status="starting",
                                strategy=(spec or StrategySpec()).to_dict(),
                                token=secrets.token_hex(16), created=now, updated=now,
                                actor=current_actor())
            session.add(row)
            session.flush()
            session.add(DeploymentVersionRow(
                deployment_id=row.id, key=model.key, model_name=model.model_name,
                model_version=model.model_version, model_ref=model.model_ref,
                model_uri=model.model_uri, source=model.source, run_id=model.run_id,
                target=target, role="stable", weight=100.0, state="starting", healthy=False,
                created=now))
    except IntegrityError:
        raise Conflict(f"A deployment named {name!r} already exists.") from None


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
        raise NotFound(f"No deployment named {name!r}.", details={"name": name})
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


def read_predictions(deployment: str, *, last: int | None = None, since: Any = None,
                     until: Any = None, version: str | None = None, shadow: bool | None = None,
                     workspace: Workspace | None = None) -> Any:
    """A deployment's prediction log, one row per request (see `predictions.read_log`)."""
    from .predictions import read_log

    ws = _workspace(workspace)
    return read_log(ws.predictions_dir, validate_name(deployment), last=last, since=since,
                    until=until, version=version, shadow=shadow)


def prediction_frame(deployment: str, *, last: int | None = None, since: Any = None,
                     until: Any = None, version: str | None = None,
                     shadow: bool | None = False, workspace: Workspace | None = None) -> Any:
    """Logged inputs, one row per scored row, with `prediction`: drift's "current" data."""
    from .predictions import log_frame

    ws = _workspace(workspace)
    return log_frame(ws.predictions_dir, validate_name(deployment), last=last, since=since,
                     until=until, version=version, shadow=shadow)


def shadow_comparison(deployment: str, *, since: Any = None, last: int | None = None,
                      workspace: Workspace | None = None) -> Any:
    """Agreement rate and prediction drift between a deployment's champion and shadow."""
    from .predictions import compare_shadow

    ws = _workspace(workspace)
    return compare_shadow(ws.predictions_dir, validate_name(deployment), since=since, last=last)


@dataclass
class DeployedVersion:
    """One model version behind a deployment, with its traffic share and health."""

    key: str
    model_name: str
    model_version: str
    role: str
    weight: float
    state: str
    healthy: bool
    url: str | None = None
    pid: int | None = None
    container_id: str | None = None
    image: str | None = None
    model_ref: str | None = None
    model_uri: str | None = None
    stats: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Deployment:
    """A handle on one deployment; every property reads the current state."""

    def __init__(self, name: str, *, workspace: Workspace | None = None) -> None:
        self.name = validate_name(name)
        self._ws = _workspace(workspace)
        self._live: dict[str, Any] | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"<Deployment {self.name} {self.status} {self.url} {self.traffic}>"

    def _repr_html_(self) -> str:
        from .render import deployment_html

        return deployment_html(self.to_dict())

    # -- state -------------------------------------------------------------------------------
    def _row(self) -> dict[str, Any]:
        row = _row(self._ws, self.name)
        if row is None:
            raise NotFound(f"No deployment named {self.name!r}.", details={"name": self.name})
        return row

    def _alive(self, row: dict[str, Any] | None = None) -> bool:
        row = row or self._row()
        pid = row.get("router_pid")
        if not pid:
            return False
        if row.get("router_host") in (None, socket.gethostname()):
            return _router_running(pid, self.name)
        return self._fetch_status(row) is not None

    def _fetch_status(self, row: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
        import httpx

        try:
            answer = httpx.get(f"http://{_connect_host(row['host'])}:{row['port']}"
                               "/-/mlops/status", timeout=timeout)
            if answer.status_code == 200:
                document = answer.json()
                if document.get("deployment") == self.name:
                    return document
        except (httpx.HTTPError, ValueError):
            return None
        return None

    def refresh(self) -> dict[str, Any]:
        """The current state: the router's own answer when it runs, else the state DB's."""
        row = self._row()
        live = self._fetch_status(row) if self._alive(row) else None
        self._live = live
        versions = []
        if live is not None:
            for v in live["versions"]:
                versions.append(DeployedVersion(
                    key=v["key"], model_name=v["model_name"], model_version=v["model_version"],
                    role=v["role"], weight=v["weight"], state=v["state"], healthy=v["healthy"],
                    url=v["url"], pid=v["pid"], container_id=v["container_id"],
                    image=v["image"], model_ref=v["model_ref"], model_uri=v["model_uri"],
                    stats={**(v["stats"] or {}),
                           **{("total_" + k if k in ("requests", "errors", "client_errors")
                               else k): n for k, n in (v["totals"] or {}).items()}},
                    error=v["error"] or v.get("reason")))
            status = live["status"]
            strategy, rollout = live["strategy"], live["rollout"]
        else:
            for v in row["versions"]:
                if v["role"] not in LIVE_ROLES:
                    continue
                versions.append(DeployedVersion(
                    key=v["key"], model_name=v["model_name"], model_version=v["model_version"],
                    role=v["role"], weight=v["weight"],
                    state=v["state"] if row["status"] not in ("stopped",) else "stopped",
                    healthy=False, url=v["url"], pid=v["pid"], container_id=v["container_id"],
                    image=v["image"], model_ref=v["model_ref"], model_uri=v["model_uri"],
                    stats=v["stats"], error=v["error"]))
            status = row["status"]
            if status in ("running", "degraded", "starting", "stopping") and \
                    not self._alive(row):
                status = "down"  # the DB says running but no router answers
            strategy, rollout = row["strategy"], row["rollout"]
        return {"name": self.name, "url": f"http://{row['host']}:{row['port']}",
                "status": status, "desired": row["desired"], "target": row["target"],
                "port": row["port"], "strategy": strategy, "rollout": rollout,
                "versions": versions, "error": row["error"], "created": row["created"],
                "started": row["started"], "router_pid": row["router_pid"]}

    def to_dict(self) -> dict[str, Any]:
        state = self.refresh()
        state["versions"] = [v.to_dict() for v in state["versions"]]
        state["traffic"] = {v["key"]: v["weight"] for v in state["versions"]
                            if v["role"] in ("stable", "candidate")}
        for key in ("created", "started"):
            state[key] = state[key].isoformat() if state[key] else None
        return state

    @property
    def url(self) -> str:
        row = self._row()
        return f"http://{row['host']}:{row['port']}"

    @property
    def status(self) -> str:
        return self.refresh()["status"]

    @property
    def versions(self) -> list[DeployedVersion]:
        """The live versions (stable, candidate, standby) with their traffic weights."""
        return self.refresh()["versions"]

    @property
    def traffic(self) -> dict[str, float]:
        """Percent of live traffic per version, e.g. {'churn/3': 95.0, 'churn/4': 5.0}."""
        return {v.key: v.weight for v in self.versions if v.role in ("stable", "candidate")}

    @property
    def strategy(self) -> dict[str, Any] | None:
        return self.refresh()["strategy"]

    @property
    def rollout(self) -> dict[str, Any] | None:
        """The running or last rollout: kind, candidate, state, step, weight, analysis."""
        return self.refresh()["rollout"]

    def health(self) -> dict[str, dict[str, Any]]:
        """Per version: live, healthy, role, weight, requests, rate, error rate, p50/p95 ms
        (over the last minute)."""
        state = self.refresh()
        report = {}
        for v in state["versions"]:
            stats = v.stats or {}
            report[v.key] = {
                "live": v.state == "running" and state["status"] not in ("down", "stopped"),
                "healthy": v.healthy, "role": v.role, "weight": v.weight,
                "requests": stats.get("requests", 0), "rate_per_s": stats.get("rate_per_s", 0.0),
                "error_rate": stats.get("error_rate", 0.0), "p50_ms": stats.get("p50_ms"),
                "p95_ms": stats.get("p95_ms"), "total_requests": stats.get("total_requests"),
                "total_errors": stats.get("total_errors"), "inflight": stats.get("inflight"),
                "error": v.error}
        return report

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from ..db.deploy_models import DeploymentEventRow

        row = self._row()
        with self._ws.session() as session:
            rows = session.scalars(select(DeploymentEventRow)
                                   .where(DeploymentEventRow.deployment_id == row["id"])
                                   .order_by(DeploymentEventRow.id.desc()).limit(limit)).all()
            return [{"id": r.id, "ts": r.ts.isoformat(), "kind": r.kind, "message": r.message,
                     "data": r.data, "actor": r.actor} for r in rows]

    # -- predictions -------------------------------------------------------------------------
    def predict(self, data: Any, *, version: str | None = None, key: str | None = None,
                timeout: float = 30.0) -> Any:
        """Score `data` (a DataFrame, records, or an MLflow scoring payload) through the
        router; a Series (or DataFrame) of predictions with `.attrs['version']` naming the
        version that answered. `version` routes to one version directly; `key` is the
        sticky key of an A/B split."""
        import httpx
        import pandas as pd

        payload, index = _payload(data)
        headers = {"content-type": "application/json"}
        if version:
            headers["x-mlops-route"] = version
        if key is not None:
            headers["x-mlops-key"] = str(key)
        if self._client is None:
            self._client = httpx.Client(timeout=timeout)
        url = f"http://{_connect_host(self._row()['host'])}:{self._row()['port']}/invocations"
        try:
            answer = self._client.post(url, content=payload, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"Deployment {self.name} did not answer at {url}: {exc}; "
                                     f"its status is {self.status}.") from None
        answered_by = answer.headers.get("x-mlops-version")
        if answer.status_code >= 400:
            try:
                message = answer.json().get("message") or answer.text
            except ValueError:
                message = answer.text
            details = {"status": answer.status_code, "version": answered_by}
            if answer.status_code == 500:
                raise ModelError(f"{answered_by}: {message}", details=details)
            if answer.status_code >= 500:
                raise BackendUnavailable(message, details=details)
            raise InvalidInput(f"{answered_by or self.name} refused the input: {message}",
                               details=details)
        predictions = answer.json()
        if isinstance(predictions, dict):
            predictions = predictions.get("predictions", predictions)
        if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
            result = pd.DataFrame.from_records(predictions)
            if index is not None and len(index) == len(result):
                result.index = index
        elif isinstance(predictions, dict):
            result = pd.DataFrame(predictions)
        else:
            result = pd.Series(predictions, name="prediction")
            if index is not None and len(index) == len(result):
                result.index = index
        result.attrs["version"] = answered_by
        result.attrs["request_id"] = answer.headers.get("x-request-id")
        return result

    def predictions(self, *, last: int | None = None, since: Any = None, until: Any = None,
                    version: str | None = None, shadow: bool | None = None) -> Any:
        """The prediction log (one row per request) as a DataFrame."""
        from .predictions import read_log

        return read_log(self._ws.predictions_dir, self.name, last=last, since=since,
                                until=until, version=version, shadow=shadow)

    def prediction_frame(self, *, last: int | None = None, since: Any = None,
                         version: str | None = None, shadow: bool | None = False) -> Any:
        """Logged inputs with their `prediction`: the "current" side of a drift check."""
        from .predictions import log_frame

        return log_frame(self._ws.predictions_dir, self.name, last=last, since=since,
                                version=version, shadow=shadow)

    def shadow_comparison(self, *, since: Any = None, last: int | None = None) -> Any:
        """Agreement and prediction drift between the champion and its shadow."""
        from .predictions import compare_shadow

        return compare_shadow(self._ws.predictions_dir, self.name, since=since, last=last)

    def logs(self, tail: int = 100, version: str | None = None) -> str:
        """The router's log and each live version's (model server or container) log."""
        from .targets import VersionHandle, get_target
        from .targets.base import tail_file

        row = self._row()
        parts = []
        if version is None:
            parts.append(f"== router ({self.name}) ==\n"
                         + tail_file(deployment_dir(self._ws, self.name) / "router.log", tail))
        for v in row["versions"]:
            if version is not None and v["key"] != version:
                continue
            if version is None and v["role"] not in LIVE_ROLES:
                continue
            text = ""
            if v["container_id"]:
                try:
                    handle = VersionHandle(target=v["target"], key=v["key"], host="127.0.0.1",
                                           port=v["port"], container_id=v["container_id"],
                                           log_path=v["log_path"])
                    text = get_target(v["target"], row["target_options"]).logs(handle, tail)
                except Exception as exc:
                    text = f"(container logs unavailable: {exc})"
            else:
                text = tail_file(v["log_path"], tail)
            parts.append(f"== {v['key']} ({v['role']}, {v['state']}) ==\n{text}")
        if version is not None and len(parts) == 0:
            raise NotFound(f"{version} is not a version of {self.name}.")
        return "\n\n".join(parts)

    # -- control -----------------------------------------------------------------------------
    def _command(self, op: str, *, timeout: float = 180.0, **payload: Any) -> dict[str, Any]:
        import httpx

        from ..identity import current_actor

        row = self._row()
        if not self._alive(row):
            raise Conflict(f"Deployment {self.name} is not running (status {row['status']}); "
                           "start() it first.", details={"status": row["status"]})
        if op not in ("stop",):
            payload.setdefault("actor", current_actor())
        try:
            answer = httpx.post(
                f"http://{_connect_host(row['host'])}:{row['port']}/-/mlops/command",
                content=json.dumps({"op": op, **payload}, default=str),
                headers={"x-mlops-token": row["token"], "content-type": "application/json"},
                timeout=timeout)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"Deployment {self.name} did not answer the {op} "
                                     f"command: {exc}") from None
        document = answer.json()
        if answer.status_code >= 400:
            error = document.get("error", {})
            cls = {400: InvalidInput, 404: NotFound, 409: Conflict}.get(answer.status_code,
                                                                       BackendUnavailable)
            raise cls(error.get("message") or answer.text, details=error.get("details"))
        self._live = document
        return document

    def set_strategy(self, strategy: Any, model: Any = None, **params: Any) -> Deployment:
        """With `model`: roll it out with this strategy (`"canary"`, `"blue_green"`, `"ab"`,
        `"shadow"`, plus parameters such as `steps`, `bake`, `weights`, `sticky_header`).
        Without: change the parameters of the rollout in progress (A/B weights, canary
        steps), or the strategy the next `deploy()` of a new model uses."""
        spec = parse_strategy(strategy, **params)
        if model is not None:
            resolved = resolve_model(model, workspace=self._ws)
            row = self._row()
            self._command("rollout", version=resolved.to_dict(), strategy=spec.to_dict(),
                          timeout=900.0 if row["target"] == "docker" else 180.0)
        elif self._alive():
            self._command("strategy", strategy=spec.to_dict())
        else:
            _update(self._ws, self.name, strategy=spec.to_dict())
        return self

    def promote(self, version: str | None = None, reason: str | None = None) -> Deployment:
        """The candidate takes all traffic now (the canary skips its remaining steps); the
        previous stable stays warm on standby for an instant `rollback()`."""
        self._command("promote", version=version, reason=reason)
        return self

    def rollback(self, reason: str | None = None) -> Deployment:
        """Drop the candidate (all traffic back to the stable), or, with no candidate, switch
        back to the version on standby. Atomic; in-flight requests finish."""
        self._command("rollback", reason=reason)
        return self

    def wait_rollout(self, timeout: float = 600.0, poll: float = 0.25) -> dict[str, Any]:
        """Block until the rollout in progress is promoted, rolled back or failed."""
        deadline = time.monotonic() + timeout
        while True:
            rollout = self.rollout
            if not rollout or rollout.get("state") != "running":
                return rollout or {}
            if time.monotonic() > deadline:
                raise Conflict(f"The rollout of {rollout.get('candidate')} is still running "
                               f"after {timeout:g} s (step {rollout.get('step')}, "
                               f"{rollout.get('weight')}%).", details=rollout)
            time.sleep(poll)

    def stop(self, timeout: float = 60.0) -> Deployment:
        """Graceful: no new requests, in-flight ones finish and are logged, the log is flushed,
        every version stops. The deployment stays (and its log); `start()` brings it back."""
        row = self._row()
        _update(self._ws, self.name, desired="stopped")
        pid = row["router_pid"]
        if self._alive(row):
            try:
                self._command("stop", timeout=10.0)
            except MLOpsError:
                if pid and _router_running(pid, self.name):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _router_running(pid, self.name) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _router_running(pid, self.name):
                terminate(pid, 5.0, _CHILDREN.get(pid))
        _reap()
        row = self._row()
        if row["status"] not in ("stopped",):
            self._cleanup_versions(row)
            _update(self._ws, self.name, status="stopped", router_pid=None, stopped=utcnow())
        return self

    def _cleanup_versions(self, row: dict[str, Any]) -> None:
        """After a router died hard: stop what it left (our model servers, containers)."""
        from .targets import VersionHandle, get_target

        for v in row["versions"]:
            if v["state"] in ("stopped",) or not (v["pid"] or v["container_id"]):
                continue
            try:
                target = get_target(v["target"], row["target_options"])
                handle = target.adopt({**v, "host": "127.0.0.1"}) or (
                    VersionHandle(target=v["target"], key=v["key"], host="127.0.0.1",
                                  container_id=v["container_id"]) if v["container_id"] else None)
                if handle is not None:
                    target.stop(handle)
            except Exception:
                pass

    def start(self, timeout: float | None = None, wait: bool = True) -> Deployment:
        """Start a stopped deployment (same port, same versions and roles)."""
        return self._start(timeout=timeout, wait=wait)

    def _start(self, timeout: float | None = None, wait: bool = True) -> Deployment:
        row = self._row()
        if self._alive(row):
            _update(self._ws, self.name, desired="running")
            return self
        timeout = timeout if timeout is not None else (
            900.0 if row["target"] == "docker" else 180.0)
        self._cleanup_versions(row)
        check_port(row["host"], row["port"])
        _update(self._ws, self.name, desired="running", status="starting", error=None,
                router_pid=None)
        process = _launch_router(self._ws, self.name)
        if wait:
            self._wait_started(process, timeout)
        return self

    def _wait_started(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        log_path = deployment_dir(self._ws, self.name) / "router.log"
        while True:
            row = self._row()
            if row["status"] in ("running", "degraded") and row["router_pid"] == process.pid:
                return
            exited = process.poll()
            if row["status"] == "failed" or exited is not None:
                if exited is None:
                    process.wait(timeout=30)
                _reap()
                from .targets.base import tail_file

                message = row["error"] or tail_file(log_path, 15) or "the router exited"
                if "already in use" in message:
                    port = re.search(r"Port (\d+)", message)
                    raise Conflict(message, details={"port": int(port.group(1)) if port
                                                     else row["port"]})
                raise BackendUnavailable(f"Deployment {self.name} did not start: {message}",
                                         details={"log": str(log_path)})
            if time.monotonic() > deadline:
                terminate(process.pid, 10.0, process)
                raise BackendUnavailable(f"Deployment {self.name} did not start within "
                                         f"{timeout:g} s; see {log_path}.")
            time.sleep(0.1)

    def delete(self, *, purge_predictions: bool = False) -> None:
        """Remove a stopped deployment from the state DB (its prediction log stays unless
        `purge_predictions`)."""
        from sqlalchemy import delete as sql_delete

        from ..db.deploy_models import DeploymentRow

        row = self._row()
        if self._alive(row):
            raise Conflict(f"Deployment {self.name} is running; stop() it first.")
        with self._ws.session() as session:
            session.execute(sql_delete(DeploymentRow).where(DeploymentRow.id == row["id"]))
        from ..events import record_event

        record_event(self._ws, "deploy.deleted", f"Deployment {self.name} deleted",
                     subject=self.name)
        if purge_predictions:
            import shutil

            shutil.rmtree(self._ws.predictions_dir / self.name, ignore_errors=True)


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "*") else host


def _payload(data: Any) -> tuple[bytes, Any]:
    """MLflow's scoring JSON for what a notebook has at hand; the index to put back."""
    import pandas as pd

    if isinstance(data, (bytes, str)):
        return (data.encode() if isinstance(data, str) else data), None
    if isinstance(data, pd.Series):
        data = data.to_frame().T  # one record: the index names the columns
    if isinstance(data, pd.DataFrame):
        body = data.to_json(orient="split", index=False, date_format="iso")
        return ('{"dataframe_split": ' + body + "}").encode(), data.index
    if isinstance(data, dict):
        if {"dataframe_split", "dataframe_records", "instances", "inputs"} & set(data):
            return json.dumps(data, default=str).encode(), None
        values = list(data.values())
        if values and all(isinstance(v, (list, tuple)) for v in values):
            return _payload(pd.DataFrame(data))
        return json.dumps({"dataframe_records": [data]}, default=str).encode(), None
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(item, dict) for item in data):
            return json.dumps({"dataframe_records": list(data)}, default=str).encode(), None
        return json.dumps({"inputs": list(data)}, default=str).encode(), None
    if hasattr(data, "tolist"):
        return json.dumps({"inputs": data.tolist()}).encode(), None
    raise InvalidInput(f"Cannot send {type(data).__name__} to a model; pass a DataFrame, "
                       "records, or an MLflow scoring payload.")
