"""The parts of a deployment's supervisor every other part builds on.

`Slot` (one model version as the supervisor tracks it), the shared constants, and
`SupervisorCore`: the supervisor's state, its roles, bringing a version up (or adopting
one a previous supervisor left running) and installing the router's table. The commands
(`supervisor_commands.py`), the control loops (`supervisor_loops.py`) and the state DB
(`supervisor_store.py`) are mixins over this class, assembled in `supervisor.py`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..workspace import Workspace
from .predictions import PredictionLog, deployment_log_dir
from .router import Router, VersionRuntime
from .strategies import StrategySpec, routing_table
from .targets import VersionHandle, VersionSpec, VersionStartError

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



class SupervisorCore:
    """State, roles, start-up of versions and routing of one deployment's supervisor.

    `handle_admin` and `_on_unreachable` (passed to the router here) come from the
    command and loop mixins; `Supervisor` puts them together.
    """

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
