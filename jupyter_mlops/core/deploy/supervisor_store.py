"""What the supervisor reads from and writes to the state DB.

The deployment and its live versions at start-up, the status a panel or notebook shows
(roles, weights, health figures, a heartbeat), and the deployment's events (also in the
workspace activity log as `deploy.<what>`). All DB work runs in a thread: the router's
event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from typing import Any

from ..errors import NotFound
from .supervisor_core import LIVE_ROLES, SupervisorCore, utcnow

log = logging.getLogger("jupyter_mlops.deploy")


class StoreMixin(SupervisorCore):
    """Loading, status, saving and events of `Supervisor`."""

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


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None
