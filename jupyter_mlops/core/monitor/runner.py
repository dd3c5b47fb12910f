"""Checking monitors on their cron: `run_due_monitors` and the `MonitorRunner` thread.

Each due monitor is claimed with a compare-and-set of its `next_check_at`
(moved to the next slot after `now`), so a server and a headless scheduler
sharing one database never check the same slot twice. Slots missed while
nothing ran are not caught up: a check reads "the last hour" anyway, so one
check now covers them.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from ..db.monitor_models import MonitorRow
from ..workspace import Workspace
from .check import due_monitors, run_check
from .records import MonitorCheck
from .spec import aware, next_after, utcnow

log = logging.getLogger("jupyter_mlops.core.monitor")

#: the longest the runner sleeps between looks at the table (a new monitor waits at most this)
DEFAULT_TICK_S = 5.0


def _claim(ws: Workspace, monitor_id: int, expected: datetime, now: datetime) -> bool:
    with ws.session() as session:
        row = session.get(MonitorRow, monitor_id)
        if row is None or row.paused:
            return False
        following = next_after(row.schedule, now)
        return bool(session.execute(update(MonitorRow).where(
            MonitorRow.id == monitor_id, MonitorRow.next_check_at == row.next_check_at)
            .values(next_check_at=following)).rowcount)


def run_due_monitors(workspace: Workspace | None = None,
                     now: datetime | None = None) -> list[MonitorCheck]:
    """Check every monitor whose slot has come (by `now`); one check per monitor and call."""
    from .service import resolve_ws

    ws = resolve_ws(workspace)
    now = aware(now) or utcnow()
    checks: list[MonitorCheck] = []
    for monitor_id, name, expected in due_monitors(ws, now):
        if not _claim(ws, monitor_id, expected, now):
            continue
        try:
            checks.append(run_check(ws, name, now, raise_errors=False))
        except Exception:  # noqa: BLE001 - one broken monitor must not stop the others
            log.exception("monitor %s: the check failed", name)
    return checks


def soonest_check(ws: Workspace) -> datetime | None:
    """When the next monitor is due (None: no active monitor) — one cheap indexed query."""
    with ws.session() as session:
        return aware(session.scalar(select(func.min(MonitorRow.next_check_at)).where(
            MonitorRow.paused.is_(False))))


class MonitorRunner:
    """A daemon thread that sleeps until the next due monitor (at most `tick` seconds)."""

    def __init__(self, workspace: Workspace, *, tick: float = DEFAULT_TICK_S,
                 logger: Any = None) -> None:
        self.ws = workspace
        self.tick = float(tick)
        self.log = logger or log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0
        self.last_error: str | None = None

    def start(self) -> MonitorRunner:
        self._thread = threading.Thread(target=self._loop, name="mlops-monitors", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.checks += len(run_due_monitors(self.ws))
                soonest = soonest_check(self.ws)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep running; the DB may come back
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.log.warning("jupyter-mlops monitors: %s", self.last_error)
                soonest = None
            wait = self.tick
            if soonest is not None:
                wait = min(self.tick, max(0.05, (soonest - utcnow()).total_seconds()))
            self._stop.wait(wait)

    def stop(self, timeout: float = 10.0) -> None:
        """Ends after the check in progress, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
