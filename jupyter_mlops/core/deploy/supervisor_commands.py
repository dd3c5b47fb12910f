"""The commands a running deployment accepts: rollout, promote, rollback, strategy, retire.

They arrive on the control endpoint (`/-/mlops/command`, token-checked) from `Deployment`
methods, run one at a time under the supervisor's lock, and change the roles of the
versions, then the router's table, then the state DB.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from .strategies import parse_strategy
from .supervisor_core import LIVE_ROLES, Slot, SupervisorCore, utcnow


class CommandsMixin(SupervisorCore):
    """The control endpoint and the rollout commands of `Supervisor`."""

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
