"""The `Deployment` handle: what a notebook, the CLI and the REST routes act through.

Every property reads the current state: the running router's own answer
when it runs (`/-/mlops/status`), else the state DB, where the router writes
its status, roles, weights and health figures every few seconds. Commands
(rollout, promote, rollback, strategy, stop) go to the router's control
endpoint, authenticated with the per-deployment token kept in the state DB.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace
from .naming import _workspace, validate_name
from .processes import (
    _CHILDREN,
    _connect_host,
    _launch_router,
    _reap,
    _router_running,
    check_port,
)
from .references import resolve_model
from .scoring import _payload, read_answer
from .state import _row, _update, unknown_deployment
from .strategies import parse_strategy
from .supervisor import LIVE_ROLES, deployment_dir, utcnow
from .targets.local import terminate


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
            raise unknown_deployment(self._ws, self.name)
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
        return health_report(self.refresh())

    def events(self, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        """The deployment's own history, newest first; `before_id` pages back."""
        from sqlalchemy import select

        from ..db.deploy_models import DeploymentEventRow

        row = self._row()
        query = select(DeploymentEventRow).where(DeploymentEventRow.deployment_id == row["id"])
        if before_id is not None:
            query = query.where(DeploymentEventRow.id < before_id)
        with self._ws.session() as session:
            rows = session.scalars(query.order_by(DeploymentEventRow.id.desc())
                                   .limit(limit)).all()
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
        return read_answer(answer, index, self.name)

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
        from .shadow import compare_shadow

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


def health_report(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The health figures of each version of a `Deployment.refresh()` state."""
    report = {}
    for v in state["versions"]:
        if isinstance(v, DeployedVersion):
            v = v.to_dict()
        stats = v["stats"] or {}
        report[v["key"]] = {
            "live": v["state"] == "running" and state["status"] not in ("down", "stopped"),
            "healthy": v["healthy"], "role": v["role"], "weight": v["weight"],
            "requests": stats.get("requests", 0), "rate_per_s": stats.get("rate_per_s", 0.0),
            "error_rate": stats.get("error_rate", 0.0), "p50_ms": stats.get("p50_ms"),
            "p95_ms": stats.get("p95_ms"), "total_requests": stats.get("total_requests"),
            "total_errors": stats.get("total_errors"), "inflight": stats.get("inflight"),
            "error": v["error"]}
    return report
