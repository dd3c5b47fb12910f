"""The supervisor's control loops: health checks and restarts, canary analysis, saving.

Each loop runs as a task in the router's process from `start_background()` until
`shutdown()` cancels it; an error in one pass is logged and never ends the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .metrics import judge_canary
from .supervisor_core import LIVE_ROLES, MAX_RESTARTS, RESTART_WINDOW_S, Slot, SupervisorCore
from .supervisor_core import utcnow

log = logging.getLogger("jupyter_mlops.deploy")


class LoopsMixin(SupervisorCore):
    """Health, restart, canary-step and persistence loops of `Supervisor`."""

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
