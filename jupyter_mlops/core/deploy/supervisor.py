"""The supervisor of one deployment: its versions, its rollout, its state in the DB.

It runs inside the deployment's own process (`router_main.py`), next to the
router, so a deployment outlives the kernel or the Jupyter server that
created it. It

- starts the model versions through the deployment's target (or adopts
  ones a previous supervisor left running), waits for their `/ping`, and
  restarts a version whose process died (at most 3 times in 5 minutes);
- builds the router's `RoutingTable` from the roles (stable, candidate,
  standby) and the strategy, and replaces it atomically on every change;
- runs the rollout: canary steps after each bake, judging the canary
  against the stable (error rate and p95 margins) and rolling it back on a
  breach; blue-green switches; A/B weights; shadow mirroring;
- checks health every second (process alive, `/ping` answers) and keeps
  rolling figures (rate, error rate, p50/p95) per version;
- writes everything a panel or a notebook shows to the state DB (status,
  roles, weights, health figures, a heartbeat) and appends the deployment's
  events (also to the workspace activity log as `deploy.<what>`);
- answers the control endpoint (`/-/mlops/status`, `/-/mlops/command`)
  through which `Deployment` methods act on a running deployment.

Blocking work (the state DB, docker builds, stopping processes) runs in
threads: the router's event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace
from .metrics import judge_canary
from .predictions import PredictionLog, deployment_log_dir
from .router import Router, VersionRuntime
from .strategies import StrategySpec, parse_strategy, routing_table
from .targets import VersionHandle, VersionSpec, VersionStartError, get_target

log = logging.getLogger("jupyter_mlops.deploy")

LIVE_ROLES = ("stable", "candidate", "standby")
MAX_RESTARTS = 3
RESTART_WINDOW_S = 300.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def deployment_dir(ws: Workspace, name: str) -> Any:
    return ws.mlops_dir / "deployments" / name


@dataclass
class Slot:
    """One model version of the deployment, as the supervisor tracks it."""

    row_id: int
    key: str
    model_name: str
    model_version: str
    model_ref: str | None
    model_uri: str
    source: str
    run_id: str | None
    role: str
    weight: float = 0.0
    state: str = "starting"
    healthy: bool = False
    reason: str | None = None
    handle: VersionHandle | None = None
    runtime: VersionRuntime | None = None
    error: str | None = None
    started: datetime | None = None
    stopped: datetime | None = None
    restarts: list[float] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        runtime = self.runtime
        return {
            "key": self.key, "model_name": self.model_name, "model_version": self.model_version,
            "model_ref": self.model_ref, "model_uri": self.model_uri, "role": self.role,
            "weight": self.weight, "state": self.state,
            "healthy": bool(runtime.healthy) if runtime else False,
            "reason": runtime.reason if runtime else self.error,
            "url": self.handle.url if self.handle else None,
            "pid": self.handle.pid if self.handle else None,
            "container_id": self.handle.container_id if self.handle else None,
            "image": self.handle.image if self.handle else None,
            "started": self.started.isoformat() if self.started else None,
            "stats": runtime.stats.window(60.0).to_dict() if runtime else None,
            "totals": runtime.stats.totals() if runtime else None,
            "error": self.error,
        }


class Supervisor:
    """Owns one deployment's versions and rollout inside its router process."""

    def __init__(self, ws: Workspace, name: str, *, health_interval: float = 1.0,
                 check_interval: float = 0.25, persist_interval: float = 5.0) -> None:
        self.ws = ws
        self.name = name
        self.health_interval = health_interval
        self.check_interval = check_interval
        self.persist_interval = persist_interval
        self.slots: dict[str, Slot] = {}
        self.spec = StrategySpec()
        self.rollout: dict[str, Any] | None = None
        self.status = "starting"
        self.deployment_id: int = 0
        self.token = ""
        self.host = "127.0.0.1"
        self.port = 0
        self.target: Any = None
        self.server: Any = None  # the uvicorn server, to stop from the control endpoint
        self.log = PredictionLog(deployment_log_dir(ws.predictions_dir, name))
        self.router = Router(name, log=self.log, admin=self.handle_admin,
                             on_unreachable=self._on_unreachable)
        self._lock = asyncio.Lock()
        #: saves are taken and written one after the other: a slow write of an older
        #: snapshot must never land after a newer one
        self._save_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._step_started = time.monotonic()
        self._stopping = False
        self.stop_requested = False
        self._restarting: set[str] = set()

    # -- roles -------------------------------------------------------------------------------
    def _role(self, role: str) -> Slot | None:
        for slot in self.slots.values():
            if slot.role == role:
                return slot
        return None

    @property
    def stable(self) -> Slot | None:
        return self._role("stable")

    @property
    def candidate(self) -> Slot | None:
        return self._role("candidate")

    @property
    def standby(self) -> Slot | None:
        return self._role("standby")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- start-up ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the deployment, bring its versions up, install the routing table."""
        row, versions = await asyncio.to_thread(self._load)
        self.deployment_id = row["id"]
        self.token = row["token"]
        self.host, self.port = row["host"], row["port"]
        self.target = get_target(row["target"], row["target_options"])
        self.spec = parse_strategy(row["strategy"] or "single")
        self.rollout = row["rollout"]
        for record in versions:
            self.slots[record["key"]] = Slot(
                row_id=record["id"], key=record["key"], model_name=record["model_name"],
                model_version=record["model_version"], model_ref=record["model_ref"],
                model_uri=record["model_uri"], source=record["source"], run_id=record["run_id"],
                role=record["role"], weight=record["weight"], record=record)
        if self.stable is None:
            raise NotFound(f"Deployment {self.name!r} has no stable version to serve.")
        results = await asyncio.gather(*(self._bring_up(slot, adopt=True)
                                         for slot in list(self.slots.values())),
                                       return_exceptions=True)
        for slot, result in zip(list(self.slots.values()), results):
            if isinstance(result, BaseException):
                slot.error = str(result)
                if slot.role == "stable":
                    for other in self.slots.values():
                        if other.handle is not None:
                            await asyncio.to_thread(self.target.stop, other.handle)
                    await self._save()
                    raise result
                log.warning("version %s did not start: %s", slot.key, result)
                slot.role, slot.state, slot.weight = "retired", "failed", 0.0
                if self.rollout and self.rollout.get("candidate") == slot.key:
                    self.rollout.update(state="failed", reason=str(result),
                                        ended=utcnow().isoformat())
        if self.candidate is not None and self.rollout and self.rollout.get("state") == "running":
            self._step_started = time.monotonic()
        self._apply()
        self.status = "running"
        await self._save(started=True)
        await self._event("started", f"Deployment {self.name} serves {self._serving_text()} "
                          f"at {self.url}", {"url": self.url, "pid": os.getpid()})

    def _load(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from sqlalchemy import select

        from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

        with self.ws.session() as session:
            row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == self.name))
            if row is None:
                raise NotFound(f"No deployment named {self.name!r}.")
            row.status = "starting"
            row.router_pid = os.getpid()
            row.router_host = socket.gethostname()
            row.error = None
            row.updated = utcnow()
            versions = session.scalars(
                select(DeploymentVersionRow)
                .where(DeploymentVersionRow.deployment_id == row.id,
                       DeploymentVersionRow.role.in_(LIVE_ROLES))
                .order_by(DeploymentVersionRow.id)).all()
            columns = ("id", "name", "token", "host", "port", "target", "target_options",
                       "strategy", "rollout")
            data = {c: getattr(row, c) for c in columns}
            version_columns = ("id", "key", "model_name", "model_version", "model_ref",
                               "model_uri", "source", "run_id", "role", "weight", "pid",
                               "container_id", "image", "port", "url", "log_path")
            records = [{c: getattr(v, c) for c in version_columns} for v in versions]
        return data, records

    def _version_spec(self, slot: Slot) -> VersionSpec:
        env = {}
        self.ws.export_environ(env)
        env["MLFLOW_TRACKING_URI"] = self.ws.tracking_uri
        return VersionSpec(deployment=self.name, key=slot.key, model_name=slot.model_name,
                           model_version=slot.model_version, source=slot.source,
                           log_dir=deployment_dir(self.ws, self.name), env=env,
                           options={"model_uri": slot.model_uri, "run_id": slot.run_id})

    async def _bring_up(self, slot: Slot, *, adopt: bool = False) -> None:
        """Start (or adopt) a version and wait for its first healthy /ping."""
        target = self.target
        slot.state = "starting"
        handle = None
        if adopt and slot.record:
            record = {**slot.record, "host": "127.0.0.1"}
            handle = await asyncio.to_thread(target.adopt, record)
            if handle is not None:
                runtime = VersionRuntime(slot.key, slot.role, handle.host, handle.port or 0)
                if await self._ping(runtime):
                    self._attach(slot, handle, runtime)
                    log.info("adopted %s at %s", slot.key, handle.url)
                    return
                await runtime.upstream.close()
                await asyncio.to_thread(target.stop, handle)
                handle = None
        spec = self._version_spec(slot)
        if target.blocking_launch:
            handle = await asyncio.to_thread(target.launch, spec)
        else:
            handle = target.launch(spec)  # the main thread: children die with this process
        slot.handle = handle
        deadline = time.monotonic() + target.start_timeout
        runtime = None
        while True:
            alive = await asyncio.to_thread(target.alive, handle) if target.blocking_launch \
                else target.alive(handle)
            if not alive:
                reason = await asyncio.to_thread(target.failure, handle)
                await asyncio.to_thread(target.stop, handle)
                raise VersionStartError(f"Version {slot.key} did not start: {reason}",
                                        details={"version": slot.key})
            port = target.poll_port(handle)
            if port and runtime is None:
                runtime = VersionRuntime(slot.key, slot.role, handle.host, port)
            if runtime is not None and await self._ping(runtime):
                break
            if self.stop_requested:
                await asyncio.to_thread(target.stop, handle)
                raise VersionStartError(f"Stopped while {slot.key} was starting.")
            if time.monotonic() > deadline:
                tail = await asyncio.to_thread(target.logs, handle, 5)
                await asyncio.to_thread(target.stop, handle)
                raise VersionStartError(
                    f"Version {slot.key} did not answer /ping within "
                    f"{target.start_timeout:g} s. Last log lines: {tail}",
                    details={"version": slot.key})
            await asyncio.sleep(0.1)
        self._attach(slot, handle, runtime)

    def _attach(self, slot: Slot, handle: VersionHandle, runtime: VersionRuntime) -> None:
        slot.handle = handle
        slot.runtime = runtime
        slot.state = "running"
        slot.error = None
        slot.started = utcnow()
        runtime.healthy = True
        slot.healthy = True  # after a restart, the `restarted` event says it is back

    @staticmethod
    async def _ping(runtime: VersionRuntime, timeout: float = 1.0) -> bool:
        try:
            status, _, _ = await runtime.upstream.request(b"GET", b"/ping", b"", None, timeout)
            return status == 200
        except Exception:
            return False

    # -- routing -----------------------------------------------------------------------------
    def _apply(self) -> None:
        """Recompute weights and swap the router's table (atomic for requests)."""
        stable, candidate = self.stable, self.candidate
        if stable is None:
            self.router.install(None, {})
            return
        weight = 0.0
        if candidate is not None and self.spec.kind == "canary" and self.rollout:
            weight = float(self.rollout.get("weight") or 0.0)
        table = routing_table(self.spec, stable.key, candidate.key if candidate else None,
                              weight)
        weights = dict(table.weights)
        versions = {}
        for slot in self.slots.values():
            if slot.role in LIVE_ROLES and slot.runtime is not None:
                slot.runtime.role = slot.role
                versions[slot.key] = slot.runtime
            slot.weight = float(weights.get(slot.key, 0.0)) if slot.role in LIVE_ROLES else 0.0
        self.router.max_mirror_inflight = self.spec.max_mirror_inflight
        self.router.install(table, versions)

    def _serving_text(self) -> str:
        return ", ".join(f"{s.key} {s.weight:g}%" for s in self.slots.values()
                         if s.role in ("stable", "candidate") and s.weight > 0) or "nothing"

    # -- commands ----------------------------------------------------------------------------
    async def handle_admin(self, method: str, path: str, body: bytes,
                           headers: dict[str, str]) -> tuple[int, Any]:
        if path == "status" and method == "GET":
            return 200, self.status_doc()
        if path != "command" or method != "POST":
            return 404, {"error": {"code": "not_found", "message": f"No control path {path}."}}
        supplied = headers.get("x-mlops-token", "")
        if not self.token or not hmac.compare_digest(supplied, self.token):
            return 403, {"error": {"code": "forbidden",
                                   "message": "A valid X-MLOps-Token header is required."}}
        try:
            payload = json.loads(body or b"{}")
            op = payload.pop("op", None)
            result = await self.command(op, **payload)
            return 200, result
        except MLOpsError as exc:
            status = {"invalid_input": 400, "not_found": 404, "conflict": 409,
                      "backend_unavailable": 503, "version_start_failed": 502}.get(exc.code, 400)
            return status, {"error": {"code": exc.code, "message": exc.message,
                                      "details": exc.details}}
        except (ValueError, TypeError) as exc:
            return 400, {"error": {"code": "invalid_input", "message": str(exc)}}

    async def command(self, op: str | None, **args: Any) -> dict[str, Any]:
        if op == "stop":
            self.request_stop()
            return {"stopping": True, **self.status_doc()}
        handlers = {"rollout": self._cmd_rollout, "promote": self._cmd_promote,
                    "rollback": self._cmd_rollback, "strategy": self._cmd_strategy,
                    "retire": self._cmd_retire, "status": None}
        if op not in handlers:
            raise InvalidInput(f"Unknown command {op!r}; use one of {', '.join(handlers)}, stop.")
        if op != "status":
            async with self._lock:
                await handlers[op](**args)  # type: ignore[misc]
        return self.status_doc()

    async def _cmd_rollout(self, version: dict[str, Any], strategy: Any = None,
                           actor: str | None = None) -> None:
        spec = parse_strategy(strategy or {"kind": "blue_green", "auto_promote": True})
        if spec.kind == "single":
            spec = parse_strategy("blue_green", auto_promote=True)
        key = version["key"]
        stable, candidate, standby = self.stable, self.candidate, self.standby
        if stable is not None and stable.key == key:
            raise Conflict(f"Deployment {self.name} already serves {key}.")
        if candidate is not None:
            if candidate.key != key:
                raise Conflict(f"A rollout of {candidate.key} is in progress; promote() or "
                               "rollback() it first.")
            slot = candidate
        elif standby is not None and standby.key == key:
            slot = standby  # warm already: no start-up
        else:
            if standby is not None:
                await self._retire(standby, "replaced by a new rollout")
            slot = await self._new_slot(version)
            try:
                await self._bring_up(slot)
            except Exception as exc:
                slot.role, slot.state, slot.error = "retired", "failed", str(exc)
                await self._save()
                await self._event("failed", f"Version {key} did not start: {exc}",
                                  {"version": key})
                raise
        slot.role = "candidate"
        self.spec = spec
        now = utcnow().isoformat()
        first = spec.steps[0] if spec.kind == "canary" else None
        self.rollout = {"kind": spec.kind, "candidate": key,
                        "stable": stable.key if stable else None, "state": "running",
                        "started": now, "step": 0, "weight": first, "step_started": now,
                        "reason": None, "history": [{"ts": now, "what": "started",
                                                     "weight": first}]}
        self._step_started = time.monotonic()
        self._apply()
        await self._event("rollout", f"Rolling out {key} to {self.name}: {spec.describe()}",
                          {"version": key, "strategy": spec.to_dict()}, actor=actor)
        if spec.kind == "blue_green" and spec.auto_promote:
            await self._promote(None, "switched once healthy", actor=actor)
        elif spec.kind == "canary" and first is not None and first >= 100:
            await self._promote(None, "canary at 100 %", actor=actor)
        await self._save()

    async def _new_slot(self, version: dict[str, Any]) -> Slot:
        def insert() -> int:
            from ..db.deploy_models import DeploymentVersionRow

            with self.ws.session() as session:
                row = DeploymentVersionRow(
                    deployment_id=self.deployment_id, key=version["key"],
                    model_name=version["model_name"], model_version=str(version["model_version"]),
                    model_ref=version.get("model_ref"), model_uri=version["model_uri"],
                    source=version["source"], run_id=version.get("run_id"),
                    target=self.target.name, role="candidate", weight=0.0, state="starting",
                    healthy=False, created=utcnow())
                session.add(row)
                session.flush()
                return row.id

        row_id = await asyncio.to_thread(insert)
        slot = Slot(row_id=row_id, key=version["key"], model_name=version["model_name"],
                    model_version=str(version["model_version"]),
                    model_ref=version.get("model_ref"), model_uri=version["model_uri"],
                    source=version["source"], run_id=version.get("run_id"), role="candidate")
        old = self.slots.get(slot.key)
        if old is not None and old.role in LIVE_ROLES:
            raise Conflict(f"{slot.key} is already part of {self.name}.")
        self.slots[slot.key] = slot
        return slot

    async def _cmd_promote(self, version: str | None = None, reason: str | None = None,
                           actor: str | None = None) -> None:
        await self._promote(version, reason or "promoted by hand", actor=actor)
        await self._save()

    async def _promote(self, version: str | None, reason: str, actor: str | None = None) -> None:
        candidate, stable, standby = self.candidate, self.stable, self.standby
        if version is not None and standby is not None and version == standby.key and \
                candidate is None:
            await self._rollback(f"promoted the standby {version}: {reason}", actor=actor)
            return
        if candidate is None:
            raise Conflict(f"Deployment {self.name} has no candidate to promote; start one with "
                           "set_strategy(..., model=...) or deploy(model, strategy=...).")
        if version is not None and version != candidate.key:
            if stable is not None and version == stable.key:
                raise Conflict(f"{version} is already the stable version; rollback() drops "
                               f"the candidate {candidate.key}.")
            raise NotFound(f"{version} is not a version of {self.name}.")
        if standby is not None:
            await self._retire(standby, "superseded")
        if stable is not None:
            stable.role = "standby"  # kept warm: rollback() is an instant switch back
        candidate.role = "stable"
        now = utcnow().isoformat()
        if self.rollout is not None:
            self.rollout.update(state="promoted", reason=reason, ended=now, weight=100.0)
            self.rollout.setdefault("history", []).append({"ts": now, "what": "promoted",
                                                           "weight": 100.0})
        self._apply()
        await self._event("promote", f"{candidate.key} now serves all of {self.name} "
                          f"({reason}); {stable.key if stable else 'nothing'} on standby",
                          {"version": candidate.key, "previous": stable.key if stable else None,
                           "reason": reason}, actor=actor)

    async def _cmd_rollback(self, reason: str | None = None, actor: str | None = None) -> None:
        await self._rollback(reason or "rolled back by hand", actor=actor)
        await self._save()

    async def _rollback(self, reason: str, *, automatic: bool = False,
                        data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        candidate, stable, standby = self.candidate, self.stable, self.standby
        now = utcnow().isoformat()
        if candidate is not None:
            dropped, kept = candidate, stable
            await self._retire(candidate, reason, apply=False)
        elif standby is not None and stable is not None:
            dropped, kept = stable, standby
            standby.role = "stable"
            await self._retire(stable, reason, apply=False)
        else:
            raise Conflict(f"Deployment {self.name} has nothing to roll back to: no candidate "
                           "and no previous version on standby.")
        if self.rollout is not None:
            state = "rolled_back" if self.rollout.get("state") == "running" else \
                self.rollout.get("state")
            if self.rollout.get("candidate") == dropped.key or state == "rolled_back":
                self.rollout.update(state="rolled_back", reason=reason, ended=now,
                                    automatic=automatic, weight=0.0)
            self.rollout.setdefault("history", []).append(
                {"ts": now, "what": "rolled back", "reason": reason, "automatic": automatic})
        self._apply()
        await self._event("rollback", f"{self.name} rolled back from {dropped.key} to "
                          f"{kept.key if kept else 'nothing'}: {reason}",
                          {"from": dropped.key, "to": kept.key if kept else None,
                           "reason": reason, "automatic": automatic, **(data or {})},
                          actor=actor)

    async def _cmd_strategy(self, strategy: Any, actor: str | None = None) -> None:
        spec = parse_strategy(strategy)
        candidate = self.candidate
        if candidate is not None and spec.kind != self.spec.kind:
            raise Conflict(f"A {self.spec.kind} rollout of {candidate.key} is in progress; "
                           f"promote() or rollback() it before switching to {spec.kind}.")
        self.spec = spec
        if candidate is not None and spec.kind == "canary" and self.rollout:
            step = min(int(self.rollout.get("step") or 0), len(spec.steps) - 1)
            self.rollout.update(step=step, weight=spec.steps[step])
        self._apply()
        await self._event("strategy", f"{self.name}: strategy now {spec.describe()}",
                          {"strategy": spec.to_dict()}, actor=actor)
        await self._save()

    async def _cmd_retire(self, version: str, actor: str | None = None) -> None:
        slot = self.slots.get(version)
        if slot is None or slot.role not in LIVE_ROLES:
            raise NotFound(f"{version} is not a running version of {self.name}.")
        if slot.role == "stable":
            raise Conflict(f"{version} is the stable version; stop() the deployment instead.")
        if slot.role == "candidate":
            await self._rollback(f"{version} retired by hand", actor=actor)
        else:
            await self._retire(slot, "retired by hand")
        await self._save()

    async def _retire(self, slot: Slot, reason: str, *, apply: bool = True) -> None:
        """Take a version out of the table now; stop it once its requests finished."""
        slot.role = "retired"
        slot.weight = 0.0
        if apply:
            self._apply()
        slot.error = None
        task = asyncio.ensure_future(self._drain_and_stop(slot, reason))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _drain_and_stop(self, slot: Slot, reason: str, drain_s: float = 10.0) -> None:
        slot.state = "stopping"
        await asyncio.sleep(0.2)
        deadline = time.monotonic() + drain_s
        runtime = slot.runtime
        while runtime is not None and runtime.stats.inflight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if slot.handle is not None:
            try:
                await asyncio.to_thread(self.target.stop, slot.handle)
            except Exception as exc:  # reported, not raised: the version is out of traffic
                slot.error = f"stopping failed: {exc}"
        if runtime is not None:
            await runtime.upstream.close()
        slot.state = "stopped"
        slot.stopped = utcnow()
        await self._save()

    # -- loops -------------------------------------------------------------------------------
    def start_background(self) -> None:
        self._tasks = [asyncio.ensure_future(coro) for coro in (
            self._health_loop(), self._rollout_loop(), self._persist_loop(), self.log.run())]

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            for slot in list(self.slots.values()):
                if slot.role not in LIVE_ROLES or slot.runtime is None or \
                        slot.key in self._restarting or self._stopping:
                    continue
                try:
                    await self._check(slot)
                except Exception as exc:  # a health probe must never end the loop
                    log.warning("health check of %s failed: %s", slot.key, exc)

    async def _check(self, slot: Slot) -> None:
        runtime = slot.runtime
        assert runtime is not None and slot.handle is not None
        alive = (await asyncio.to_thread(self.target.alive, slot.handle)
                 if self.target.blocking_launch else self.target.alive(slot.handle))
        if not alive:
            reason = await asyncio.to_thread(self.target.failure, slot.handle)
            self.router.mark(slot.key, False, f"process exited: {reason}")
            slot.state = "failed"
            await self._report_health(slot, f"stopped: {reason}")
            self._maybe_restart(slot)
            return
        ok = await self._ping(runtime)
        if ok != runtime.healthy:
            self.router.mark(slot.key, ok, None if ok else "/ping did not answer")
        await self._report_health(slot, "healthy again" if ok else "not answering /ping")

    async def _report_health(self, slot: Slot, what: str) -> None:
        """One event per change of health, whoever noticed it (a probe or the router)."""
        healthy = bool(slot.runtime and slot.runtime.healthy)
        if healthy == slot.healthy:
            return
        slot.healthy = healthy
        await self._event("health", f"{slot.key} of {self.name} {what}",
                          {"version": slot.key, "healthy": healthy})
        await self._save()

    def _on_unreachable(self, key: str, reason: str) -> None:
        """The router could not connect: check at once rather than at the next tick."""
        slot = self.slots.get(key)
        if slot is not None and slot.runtime is not None and not self._stopping:
            task = asyncio.ensure_future(self._check(slot))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _maybe_restart(self, slot: Slot) -> None:
        now = time.monotonic()
        slot.restarts = [t for t in slot.restarts if now - t < RESTART_WINDOW_S]
        if slot.key in self._restarting or len(slot.restarts) >= MAX_RESTARTS or \
                self._stopping or slot.role == "candidate" and self.spec.kind == "canary":
            return  # a canary that dies is rolled back, not restarted
        slot.restarts.append(now)
        self._restarting.add(slot.key)
        task = asyncio.ensure_future(self._restart(slot))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _restart(self, slot: Slot) -> None:
        try:
            old = slot.runtime
            if slot.handle is not None:
                await asyncio.to_thread(self.target.stop, slot.handle, 2.0)
            await self._bring_up(slot)
            if old is not None:
                await old.upstream.close()
            self._apply()
            await self._event("restarted", f"{slot.key} of {self.name} restarted at "
                              f"{slot.handle.url if slot.handle else '?'}",
                              {"version": slot.key, "restarts": len(slot.restarts)})
        except Exception as exc:
            slot.state, slot.error = "failed", str(exc)
            await self._event("failed", f"Restarting {slot.key} of {self.name} failed: {exc}",
                              {"version": slot.key})
        finally:
            self._restarting.discard(slot.key)
            await self._save()

    async def _rollout_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            if self._stopping:
                continue
            try:
                async with self._lock:
                    await self._canary_tick()
            except Exception as exc:
                log.exception("canary analysis failed: %s", exc)

    async def _canary_tick(self) -> None:
        rollout, spec, candidate, stable = self.rollout, self.spec, self.candidate, self.stable
        if (spec.kind != "canary" or candidate is None or stable is None or rollout is None
                or rollout.get("state") != "running"):
            return
        now = time.monotonic()
        if candidate.runtime is None or not candidate.runtime.healthy:
            reason = (f"canary {candidate.key} is unavailable: "
                      f"{candidate.runtime.reason if candidate.runtime else 'not running'}")
            if spec.auto_rollback:
                await self._rollback(reason, automatic=True)
                await self._save()
            return
        window = max(spec.bake, 1.0)
        stats = candidate.runtime.stats
        canary_stats = stats.window(window, since=self._step_started, now=now)
        warm_since = max(self._step_started, stats.warm_at if stats.warm_at else now)
        canary_warm = stats.window(window, since=warm_since, now=now)
        stable_stats = (stable.runtime.stats.window(window, since=self._step_started, now=now)
                        if stable.runtime else canary_stats)
        verdict = judge_canary(canary_stats, stable_stats, min_requests=spec.min_requests,
                               max_error_rate_increase=spec.max_error_rate_increase,
                               max_latency_increase=spec.max_latency_increase,
                               latency_slack_ms=spec.latency_slack_ms,
                               canary_latency=canary_warm)
        rollout["analysis"] = verdict.to_dict()
        if verdict.breach:
            if spec.auto_rollback:
                await self._rollback(verdict.reason, automatic=True,
                                     data={"analysis": verdict.to_dict()})
                await self._save()
            else:
                rollout["breach"] = verdict.reason
            return
        if now - self._step_started < spec.bake:
            return
        step = int(rollout.get("step") or 0) + 1
        if step >= len(spec.steps) or spec.steps[step] >= 100:
            rollout["step"] = min(step, len(spec.steps) - 1)
            await self._promote(None, "canary completed every step")
            await self._save()
            return
        weight = spec.steps[step]
        stamp = utcnow().isoformat()
        rollout.update(step=step, weight=weight, step_started=stamp)
        rollout.setdefault("history", []).append({"ts": stamp, "what": "step", "weight": weight,
                                                  "analysis": verdict.to_dict()})
        self._step_started = now
        self._apply()
        await self._event("canary_step", f"{candidate.key} of {self.name} now takes "
                          f"{weight:g}% of the traffic", {"version": candidate.key,
                                                          "weight": weight, "step": step})
        await self._save()

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.persist_interval)
            try:
                await self._save()
            except Exception as exc:
                log.warning("saving the state of %s failed: %s", self.name, exc)

    # -- state -------------------------------------------------------------------------------
    def status_doc(self) -> dict[str, Any]:
        return {
            "deployment": self.name, "url": self.url, "status": self.status,
            "pid": os.getpid(), "target": self.target.name if self.target else None,
            "strategy": self.spec.to_dict(), "strategy_text": self.spec.describe(),
            "rollout": self.rollout,
            "versions": [slot.info() for slot in self.slots.values()
                         if slot.role in LIVE_ROLES or slot.state in ("starting", "stopping")],
            "predictions": self.log.status(),
        }

    def _overall(self) -> str:
        if self._stopping:
            return self.status
        stable = self.stable
        if stable is None or stable.runtime is None:
            return "failed"
        return "running" if stable.runtime.healthy else "degraded"

    async def _save(self, *, started: bool = False, final: bool = False) -> None:
        async with self._save_lock:
            await self._save_now(started=started, final=final)

    async def _save_now(self, *, started: bool, final: bool) -> None:
        if not final and (started or self.status != "starting"):
            self.status = self._overall()
        snapshot = [(slot.row_id, slot.role, slot.weight, slot.state,
                     bool(slot.runtime.healthy) if slot.runtime else False,
                     slot.handle, slot.runtime.stats.window(60.0).to_dict()
                     if slot.runtime else None, slot.error, slot.started, slot.stopped,
                     slot.runtime.reason if slot.runtime else None)
                    for slot in self.slots.values()]
        status, spec, rollout = self.status, self.spec.to_dict(), _jsonable(self.rollout)
        await asyncio.to_thread(self._write, snapshot, status, spec, rollout, started, final)

    def _write(self, snapshot: list[Any], status: str, spec: dict[str, Any],
               rollout: Any, started: bool, final: bool) -> None:
        from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

        now = utcnow()
        with self.ws.session() as session:
            row = session.get(DeploymentRow, self.deployment_id)
            if row is None:
                return
            row.status = status
            row.strategy = spec
            row.rollout = rollout
            row.heartbeat = now
            row.updated = now
            if started:
                row.started = now
                row.router_pid = os.getpid()
                row.router_host = socket.gethostname()
                row.error = None
            if final:
                row.stopped = now
                row.router_pid = None
            for (row_id, role, weight, state, healthy, handle, stats, error, s_started,
                 s_stopped, reason) in snapshot:
                version = session.get(DeploymentVersionRow, row_id)
                if version is None:
                    continue
                version.role, version.weight, version.state = role, weight, state
                version.healthy = healthy
                version.stats = stats
                version.error = error or (reason if not healthy and state == "running" else None)
                version.started, version.stopped = s_started, s_stopped
                if handle is not None:
                    version.pid, version.container_id = handle.pid, handle.container_id
                    version.image, version.port = handle.image, handle.port
                    version.url, version.log_path = handle.url, handle.log_path

    async def _event(self, what: str, message: str, data: dict[str, Any] | None = None,
                     actor: str | None = None) -> None:
        log.info("%s: %s", what, message)

        def write() -> None:
            from ..db.deploy_models import DeploymentEventRow
            from ..events import record_event
            from ..identity import current_actor

            who = actor or current_actor()
            with self.ws.session() as session:
                session.add(DeploymentEventRow(deployment_id=self.deployment_id, ts=utcnow(),
                                               kind=what, message=message,
                                               data=_jsonable(data), actor=who))
            record_event(self.ws, f"deploy.{what}", message, subject=self.name,
                         data=_jsonable({"deployment": self.name, **(data or {})}), actor=who)

        try:
            await asyncio.to_thread(write)
        except Exception as exc:  # the event log must never take a deployment down
            log.warning("recording event %s failed: %s", what, exc)

    async def fail(self, message: str) -> None:
        """Start-up failed: say why in the DB, where deploy() is waiting for it."""
        def write() -> None:
            from ..db.deploy_models import DeploymentRow

            with self.ws.session() as session:
                row = session.get(DeploymentRow, self.deployment_id) if self.deployment_id \
                    else None
                if row is None:
                    from sqlalchemy import select

                    row = session.scalar(select(DeploymentRow)
                                         .where(DeploymentRow.name == self.name))
                if row is not None:
                    row.status, row.error, row.router_pid = "failed", message, None
                    row.updated = utcnow()

        await asyncio.to_thread(write)
        await self._event("failed", f"Deployment {self.name} failed to start: {message}")

    # -- shutdown ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.stop_requested = True
        if self.server is not None:
            self.server.should_exit = True

    async def shutdown(self) -> None:
        """After the router stopped taking requests: flush the log, stop every version."""
        self._stopping = True
        self.status = "stopping"
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.router.drain_mirrors()
        try:
            await asyncio.to_thread(self.log.flush)
        except Exception as exc:
            log.error("flushing the prediction log failed: %s", exc)
        if self._background:
            await asyncio.wait(list(self._background), timeout=15)
        stops = []
        for slot in self.slots.values():
            if slot.handle is not None and slot.state not in ("stopped",):
                stops.append(asyncio.to_thread(self.target.stop, slot.handle))
                slot.state = "stopped"
                slot.stopped = utcnow()
                if slot.runtime is not None:
                    slot.runtime.healthy = False
        await asyncio.gather(*stops, return_exceptions=True)
        self.status = "stopped"
        await self._save(final=True)
        await self._event("stopped", f"Deployment {self.name} stopped "
                          f"({self.log.written_rows} predictions logged)",
                          {"predictions": self.log.status()})


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None
