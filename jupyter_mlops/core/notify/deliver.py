"""The deliverer: reads the activity log as an outbox and posts what webhooks asked for.

Events are recorded by the server, kernels, pipeline steps and deployment
supervisors, in any process; none of them sends anything. A deliverer — the
server's `Notifier` thread, or the headless `jupyter mlops scheduler` — calls
`deliver_pending` every couple of seconds:

1. cheap reads first: is any enabled webhook due and behind the newest event?
   (an idle server takes no lock and writes nothing);
2. take the `notifier` lease (a compare-and-set on `pipeline_leases`, as the
   scheduler does), so that of several servers on one database one posts;
3. per due webhook, read the events after its cursor in id order and post the
   matching ones one by one; the cursor advances (compare-and-set) after each
   success, and over events that do not match. A failure (connection error,
   timeout, non-2xx) stops that webhook at that event, records the error and
   backs off (5 s doubling to 1 h): the same event is retried later, so
   nothing is lost and order is kept.

Exactly once: only the lease holder posts, and it renews the lease before a
post whenever less than half of it is left, so no other deliverer can take it
while a post is in flight. A post the endpoint received but whose answer was
lost (a crash between the two) is posted again: the event id in the body and
the `X-MLOps-Event-Id` header let a receiver drop it.

Ids of an outbox may commit out of order on PostgreSQL (a transaction that
got id 10 commits after the one that got 11). A gap in the ids is therefore
waited for, up to `GAP_GRACE_S` after the event following it was recorded,
before it is taken for a rolled-back transaction.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from .. import leases
from ..db.models import Event, aware, utcnow
from ..db.notify_models import WebhookRow
from ..workspace import Workspace, use_workspace
from .hooks import event_matches, record_delivery
from .payload import event_dict, post

log = logging.getLogger(__name__)

LEASE_NAME = "notifier"
LEASE_TTL_S = 30.0
#: first back-off after a failed post; doubles per consecutive failure up to BACKOFF_MAX_S
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 3600.0
#: how long a gap in event ids may be a transaction that has not committed yet
GAP_GRACE_S = 30.0
POLL_INTERVAL_S = 2.0


def backoff_seconds(failures: int) -> float:
    """5, 10, 20, … seconds, at most an hour."""
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, failures - 1))


# -- the lease ------------------------------------------------------------------------------
def acquire_lease(ws: Workspace, holder: str, now: datetime, ttl: float) -> bool:
    """Take or renew the `notifier` lease: ours, expired, or not there yet."""
    return leases.acquire_lease(ws, LEASE_NAME, holder, ttl, now)


def release_lease(ws: Workspace, holder: str) -> None:
    leases.release_lease(ws, LEASE_NAME, holder)


class _Lease:
    """The lease as one pass holds it: renewed before a post when half of it is gone."""

    def __init__(self, ws: Workspace, holder: str, ttl: float, clock: Callable[[], datetime]):
        self.ws, self.holder, self.ttl, self.clock = ws, holder, ttl, clock
        self.until: datetime | None = None

    def take(self) -> bool:
        now = self.clock()
        if not acquire_lease(self.ws, self.holder, now, self.ttl):
            self.until = None
            return False
        self.until = now + timedelta(seconds=self.ttl)
        return True

    def fresh(self) -> bool:
        """True when we may start a post: the lease is ours for at least ttl/2 more."""
        if self.until is not None and \
                (self.until - self.clock()).total_seconds() > self.ttl / 2:
            return True
        return self.take()


# -- one pass -------------------------------------------------------------------------------
def _due_hooks(ws: Workspace, now: datetime) -> list[int]:
    """Enabled webhooks out of back-off and behind the newest event (reads only)."""
    with ws.session() as session:
        newest = session.scalar(select(func.max(Event.id))) or 0
        return list(session.scalars(select(WebhookRow.id).where(
            WebhookRow.enabled.is_(True), WebhookRow.last_event_id < newest,
            or_(WebhookRow.next_attempt_at.is_(None), WebhookRow.next_attempt_at <= now))
            .order_by(WebhookRow.id)))


def _advance(ws: Workspace, hook_id: int, old: int, new: int, **values: Any) -> bool:
    """Compare-and-set of the cursor: False when another deliverer moved it meanwhile."""
    with ws.session() as session:
        return bool(session.execute(update(WebhookRow).where(
            WebhookRow.id == hook_id, WebhookRow.last_event_id == old).values(
            last_event_id=new, **values)).rowcount)


def _deliver_hook(ws: Workspace, hook_id: int, client: Any, lease: _Lease, *, limit: int,
                  holder: str, report: dict[str, Any], stop: threading.Event | None) -> bool:
    """Post the hook's pending events in order; False when the lease was lost."""
    clock = lease.clock
    with ws.session() as session:
        hook = session.get(WebhookRow, hook_id)
        if hook is None or not hook.enabled:
            return True
        next_at = aware(hook.next_attempt_at)
        if next_at is not None and next_at > clock():
            return True
        cursor, patterns, failures = int(hook.last_event_id), list(hook.events), hook.failures
        url, fmt, secret, name = hook.url, hook.format, hook.secret, hook.name
        events = [event_dict(e) | {"_ts": aware(e.ts)} for e in session.scalars(
            select(Event).where(Event.id > cursor).order_by(Event.id).limit(limit))]
    stats = report["webhooks"].setdefault(name, {"delivered": 0, "failed": 0, "skipped": 0})
    stored, reached = cursor, cursor  # what the DB holds; how far we got
    for event in events:
        recorded_at = event.pop("_ts")
        if event["id"] != reached + 1 and (clock() - recorded_at).total_seconds() < GAP_GRACE_S:
            break  # ids missing before this one may still commit
        if not event_matches(patterns, event["kind"], event["data"]):
            reached = event["id"]
            stats["skipped"] += 1
            continue
        if (stop is not None and stop.is_set()) or not lease.fresh():
            break
        result = post(client, url, event, workspace=ws.root.name, fmt=fmt, secret=secret)
        with ws.session() as session:
            record_delivery(session, hook_id, event["id"], event["kind"], result, holder)
        if not result.ok:
            failures += 1
            stats["failed"] += 1
            report["failed"] += 1
            _advance(ws, hook_id, stored, reached, failures=failures, last_error=result.error,
                     next_attempt_at=clock() + timedelta(seconds=backoff_seconds(failures)))
            log.warning("webhook %s: event %s (%s) not delivered, retry in %.0f s: %s", name,
                        event["id"], event["kind"], backoff_seconds(failures), result.error)
            return True
        if not _advance(ws, hook_id, stored, event["id"], failures=0, last_error=None,
                        next_attempt_at=None):
            return True  # another deliverer moved the cursor: it owns this webhook now
        stored = reached = event["id"]
        failures = 0
        stats["delivered"] += 1
        report["delivered"] += 1
    if reached != stored:
        _advance(ws, hook_id, stored, reached)
    return lease.until is not None


def deliver_pending(workspace: Workspace | str | None, *, holder: str, limit: int = 100,
                    timeout: float = 5.0, now: datetime | None = None,
                    stop: threading.Event | None = None) -> dict[str, Any]:
    """One pass over every due webhook, if this holder gets the lease; see the module doc.

    `limit` bounds the events read per webhook per pass; `now` fixes the clock
    of the pass (tests step over a back-off with it); a set `stop` ends the
    pass before the next post (a server shutting down waits for one post at most).
    """
    import httpx

    ws = use_workspace(workspace)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report: dict[str, Any] = {"leader": False, "delivered": 0, "failed": 0, "webhooks": {}}
    due = _due_hooks(ws, clock())
    if not due:
        return report
    lease = _Lease(ws, holder, max(LEASE_TTL_S, 4 * timeout), clock)
    if not lease.take():
        return report
    report["leader"] = True
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for hook_id in due:
            if not _deliver_hook(ws, hook_id, client, lease, limit=limit, holder=holder,
                                 report=report, stop=stop):
                report["leader"] = False
                break
    return report


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Notifier:
    """Calls `deliver_pending` every `interval` seconds in a thread, until `stop()`."""

    def __init__(self, workspace: Workspace | str | None = None, *,
                 interval: float = POLL_INTERVAL_S, timeout: float = 5.0,
                 holder: str | None = None, logger: Any = None) -> None:
        self.ws = use_workspace(workspace)
        self.interval = float(interval)
        self.timeout = float(timeout)
        self.holder = holder or default_holder()
        self.log = logger or log
        self.stats = {"passes": 0, "delivered": 0, "failed": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, Any]:
        """One pass (e.g. `jupyter mlops scheduler --once`)."""
        report = deliver_pending(self.ws, holder=self.holder, timeout=self.timeout,
                                 stop=self._stop)
        self.stats["passes"] += 1
        self.stats["delivered"] += report["delivered"]
        self.stats["failed"] += report["failed"]
        return report

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                except Exception:  # a bad moment of the DB must not end the notifier
                    self.log.exception("jupyter-mlops: delivering notifications failed")
                stop.wait(self.interval)
        finally:
            self._release()

    def start(self) -> Notifier:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, name="mlops-notifier",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after the post in flight, and hand the lease to another server."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._release()

    def _release(self) -> None:
        try:
            release_lease(self.ws, self.holder)
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself
            self.log.debug("jupyter-mlops: releasing the notifier lease failed: %s", exc)
