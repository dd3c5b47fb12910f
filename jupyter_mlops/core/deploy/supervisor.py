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

The parts live in `supervisor_core.py` (slots, roles, start-up of versions, routing),
`supervisor_commands.py` (the control endpoint and its commands), `supervisor_loops.py`
(health, restarts, canary analysis, periodic saves) and `supervisor_store.py` (the state
DB and events); this module assembles them and runs the deployment's life cycle.
"""

from __future__ import annotations

import asyncio
import os
import time

from ..errors import NotFound
from .strategies import parse_strategy
from .supervisor_commands import CommandsMixin
from .supervisor_core import (LIVE_ROLES, MAX_RESTARTS, RESTART_WINDOW_S, Slot,
                              SupervisorCore, deployment_dir, log, utcnow)
from .supervisor_loops import LoopsMixin
from .supervisor_store import StoreMixin
from .targets import get_target

__all__ = ["LIVE_ROLES", "MAX_RESTARTS", "RESTART_WINDOW_S", "Slot", "Supervisor",
           "SupervisorCore", "deployment_dir", "utcnow"]


class Supervisor(CommandsMixin, LoopsMixin, StoreMixin):
    """Owns one deployment's versions and rollout inside its router process."""

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
