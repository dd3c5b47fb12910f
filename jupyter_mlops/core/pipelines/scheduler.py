"""The durable scheduler: fires the cron schedules and trigger subscriptions of the state DB.

Schedules live in `pipeline_schedules` (made with `create_schedule`, or
declared in a spec's `schedule:`/`triggers:` and synced from the file). A
`Scheduler` — inside the Jupyter server, or headless as `jupyter mlops
scheduler` — does, while it holds the `scheduler` lease:

1. reconcile runs whose runner died (failed with the reason, or retried);
2. fire due slots, computed with croniter in the schedule's timezone. A slot
   more than `misfire_grace` late was missed (no scheduler ran): the
   schedule's catch-up policy decides — `skip` them, run the `latest` one, or
   `backfill` up to `max_backfill` of them, oldest first;
3. consume trigger events, each exactly once;
4. start queued runs, honouring each pipeline's concurrency policy.

Exactly once, with several schedulers on one database: only the lease holder
acts; and should two ever act at once (a paused process waking after its
lease expired), firing is a compare-and-set of the schedule's `next_fire_at`
in the same transaction as the run row, whose (schedule, slot) pair is
unique — the second writer changes nothing.

Concurrency when a slot fires while a run of the pipeline is active:
`forbid` records the slot as a `skipped` run (it does not pile up), `replace`
cancels the active run, `allow` starts another. Backfilled slots and trigger
runs are queued instead of skipped (they run one after another under
`forbid`; a trigger is coalesced with a queued run of the same schedule).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..db.pipeline_models import PipelineRunRow, ScheduleRow, TriggerEventRow
from ..errors import InvalidInput, MLOpsError
from ..leases import acquire_lease, release_lease
from ..workspace import Workspace
from .executor import Executor, get_executor
from .runs import (
    HOST,
    RUN_ACTIVE,
    _event,
    _orchestrators,
    _workspace,
    as_utc,
    create_run_record,
    launch_run,
    new_run_id,
    reconcile_orphans,
    spec_from_snapshot,
    utcnow,
)
from .schedules import (
    CATCH_UP,
    ScheduleInfo,
    create_schedule,
    delete_schedule,
    discover_pipelines,
    get_schedule,
    list_schedules,
    next_fire_times,
    pause_schedule,
    resume_schedule,
    slots_between,
    sync_spec_schedules,
    update_schedule,
)
from .spec import load_spec, resolve_run_parameters

__all__ = [
    "CATCH_UP",
    "ScheduleInfo",
    "Scheduler",
    "create_schedule",
    "delete_schedule",
    "discover_pipelines",
    "get_schedule",
    "list_schedules",
    "next_fire_times",
    "pause_schedule",
    "resume_schedule",
    "slots_between",
    "sync_spec_schedules",
    "update_schedule",
]

log = logging.getLogger("jupyter_mlops.core.pipelines")

LEASE_NAME = "scheduler"
DEFAULT_LEASE_TTL_S = 15.0
DEFAULT_TICK_S = 0.25
DEFAULT_MISFIRE_GRACE_S = 10.0
SYNC_EVERY_S = 30.0
RECONCILE_EVERY_S = 2.0


# -- firing --------------------------------------------------------------------------------------
def _failed_row(session: Any, schedule: ScheduleRow, slot: datetime | None, trigger: str,
                detail: dict[str, Any] | None, error: str) -> PipelineRunRow:
    now = utcnow()
    row = PipelineRunRow(id=new_run_id(), pipeline=schedule.pipeline,
                         name=Path(schedule.pipeline).name, status="failed", trigger=trigger,
                         trigger_detail=detail, schedule_id=schedule.id, scheduled_for=slot,
                         parameters=dict(schedule.parameters or {}), created=now, finished=now,
                         cancel_requested=False, error=error, actor="scheduler")
    session.add(row)
    return row


def _trigger_parameters(spec: Any, detail: dict[str, Any] | None) -> dict[str, Any]:
    """What a trigger says about itself, as run parameters: the `parameters` of its event
    data that the pipeline declares (a drift alert's window, a snapshot's version), so a
    notebook gets them in its papermill parameters. Undeclared ones stay in the run's
    trigger detail: a trigger must not make a pipeline refuse to run."""
    given = ((detail or {}).get("data") or {}).get("parameters")
    if not isinstance(given, dict):
        return {}
    return {k: v for k, v in given.items() if k in spec.parameters}


def _fire(session: Any, ws: Workspace, schedule: ScheduleRow, slot: datetime | None, *,
          trigger: str, detail: dict[str, Any] | None, on_active: str) -> PipelineRunRow | None:
    """Create the run of one slot or trigger (the caller commits). `on_active`: what forbid
    does when a run is active — "skip" (record a skipped slot) or "queue"."""
    try:
        spec = load_spec(schedule.pipeline, ws)
        params = resolve_run_parameters(
            spec, {**(schedule.parameters or {}), **_trigger_parameters(spec, detail)})
    except MLOpsError as exc:
        return _failed_row(session, schedule, slot, trigger, detail,
                           f"could not start: {exc.message}")
    active = list(session.scalars(select(PipelineRunRow).where(
        PipelineRunRow.pipeline == spec.key, PipelineRunRow.status.in_(RUN_ACTIVE))))
    common = {"trigger": trigger, "trigger_detail": detail, "schedule_id": schedule.id,
              "scheduled_for": slot, "actor": "scheduler", "owner": False}
    if active and spec.concurrency == "forbid":
        if on_active == "skip":
            return create_run_record(
                session, ws, spec, params, status="skipped",
                error=f"skipped: run {active[0].id} was still {active[0].status} "
                      f"(concurrency: forbid)", **common)
        if trigger != "schedule" and trigger != "catch_up":
            for other in active:  # coalesce: one queued run per schedule is enough
                if other.status == "queued" and other.owner_host is None \
                        and other.schedule_id == schedule.id:
                    return None
    if active and spec.concurrency == "replace":
        for other in active:
            other.cancel_requested = True
            orchestrator = _orchestrators.get(other.id)
            if orchestrator is not None:
                orchestrator.request_cancel(f"replaced by a {trigger} run")
    return create_run_record(session, ws, spec, params, status="queued", **common)


class Scheduler:
    """Fires schedules and triggers while it holds the lease; see the module doc."""

    def __init__(self, workspace: Workspace | None = None, *,
                 executor: Executor | str | None = None,
                 lease_ttl: float = DEFAULT_LEASE_TTL_S, tick: float = DEFAULT_TICK_S,
                 misfire_grace: float = DEFAULT_MISFIRE_GRACE_S, reconcile: str = "fail",
                 sync_specs: bool = True, holder: str | None = None,
                 track: bool = True, idle_tick: float | None = None,
                 warm_executor: str = "always") -> None:
        if warm_executor not in ("always", "when_scheduled"):
            raise InvalidInput(f"warm_executor must be 'always' or 'when_scheduled', "
                               f"got {warm_executor!r}.")
        if reconcile not in ("fail", "retry"):
            raise InvalidInput(f"reconcile must be 'fail' or 'retry', got {reconcile!r}.")
        self.ws = _workspace(workspace)
        self._executor = executor
        self.lease_ttl = float(lease_ttl)
        self.tick_s = float(tick)
        #: the pause when nothing is scheduled, subscribed or queued (`wake()` cuts it short)
        self.idle_tick_s = float(idle_tick) if idle_tick is not None else self.tick_s
        #: "when_scheduled": spawn workers (and pre-start kernels) only once a schedule,
        #: trigger subscription or queued run exists — a server nobody schedules on stays cheap
        self.warm_executor = warm_executor
        self._warmed = False
        self._busy = True  # whether the last pass saw anything to watch closely
        self._wake = threading.Event()
        self.misfire_grace = float(misfire_grace)
        self.reconcile_policy = reconcile
        self.sync_specs = sync_specs
        self.track = track
        self.holder = holder or f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        self.is_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sync = 0.0
        self._last_reconcile = 0.0
        self.stats = {"fired": 0, "skipped": 0, "missed": 0, "triggered": 0, "started": 0,
                      "reconciled": 0}

    @property
    def executor(self) -> Executor:
        if not isinstance(self._executor, Executor):
            self._executor = get_executor(self._executor)
        return self._executor

    # -- lease ------------------------------------------------------------------------------
    def _acquire_lease(self) -> bool:
        return acquire_lease(self.ws, LEASE_NAME, self.holder, self.lease_ttl)

    def release_lease(self) -> None:
        release_lease(self.ws, LEASE_NAME, self.holder)
        self.is_leader = False

    # -- one pass ---------------------------------------------------------------------------
    def tick(self) -> dict[str, Any]:
        """Do what is due now; returns what was done (tests, logs)."""
        report: dict[str, Any] = {"leader": False, "fired": [], "started": [],
                                  "reconciled": [], "triggers": []}
        was_leader = self.is_leader
        self.is_leader = self._acquire_lease()
        report["leader"] = self.is_leader
        if not self.is_leader:
            return report
        if not was_leader:
            log.info("scheduler %s holds the lease", self.holder)
            _event(self.ws, "pipeline.scheduler", f"scheduler {self.holder} took the lease",
                   None, {"holder": self.holder})
        now_m = time.monotonic()
        if self.sync_specs and now_m - self._last_sync >= SYNC_EVERY_S:
            self._last_sync = now_m
            for problem in sync_spec_schedules(self.ws):
                log.warning("pipeline spec not synced: %s", problem)
        if now_m - self._last_reconcile >= RECONCILE_EVERY_S or not was_leader:
            self._last_reconcile = now_m
            report["reconciled"] = self._reconcile()
        report["fired"] = self._fire_due()
        report["triggers"] = self.consume_triggers()
        report["started"] = self._dispatch()
        self._busy = self._has_work()
        if not self._warmed and (self.warm_executor == "always" or self._busy):
            self._warmed = True
            try:  # spawn workers and pre-start kernels now, not at the first due slot
                self.executor
            except MLOpsError as exc:
                log.warning("executor not started: %s", exc.message)
        return report

    def _has_work(self) -> bool:
        """An active schedule or subscription, or a run queued for a scheduler to start."""
        with self.ws.session() as session:
            if session.scalar(select(ScheduleRow.id).where(
                    ScheduleRow.paused.is_(False)).limit(1)) is not None:
                return True
            return session.scalar(select(PipelineRunRow.id).where(
                PipelineRunRow.status == "queued",
                PipelineRunRow.owner_host.is_(None)).limit(1)) is not None

    def wake(self) -> None:
        """Look again now (a schedule was created, resumed or changed in this process)."""
        self._wake.set()

    def _reconcile(self) -> list[str]:
        ids = reconcile_orphans(self.ws, by=f"scheduler {self.holder}")
        self.stats["reconciled"] += len(ids)
        if ids and self.reconcile_policy == "retry":
            with self.ws.session() as session:
                for run_id in ids:
                    old = session.get(PipelineRunRow, run_id)
                    if old is None or not old.spec:
                        continue
                    try:
                        spec = spec_from_snapshot(old.spec)
                        create_run_record(session, self.ws, spec, dict(old.parameters or {}),
                                          trigger="retry", trigger_detail={"retry_of": run_id},
                                          schedule_id=None, rerun_of=run_id, actor="scheduler",
                                          owner=False)
                    except MLOpsError as exc:
                        log.warning("cannot retry run %s: %s", run_id, exc.message)
        return ids

    def _fire_due(self) -> list[str]:
        now = utcnow()
        fired: list[str] = []
        with self.ws.session() as session:
            due = list(session.scalars(select(ScheduleRow).where(
                ScheduleRow.paused.is_(False), ScheduleRow.cron.is_not(None),
                ScheduleRow.next_fire_at <= now)))
            ids = [s.id for s in due]
        for schedule_id in ids:
            fired.extend(self._fire_schedule(schedule_id, now))
        return fired

    def _fire_schedule(self, schedule_id: int, now: datetime) -> list[str]:
        with self.ws.session() as session:
            schedule = session.get(ScheduleRow, schedule_id)
            if schedule is None or schedule.paused or not schedule.cron:
                return []
            expected = as_utc(schedule.next_fire_at)
            if expected is None or expected > now:
                return []
            try:
                slots = slots_between(schedule.cron, schedule.timezone, expected, now)
                following = next_fire_times(schedule.cron, schedule.timezone, 1, now)[0]
            except (MLOpsError, ValueError) as exc:
                log.warning("schedule %s: %s", schedule_id, exc)
                return []
            late = [s for s in slots if (now - s).total_seconds() > self.misfire_grace]
            on_time = [s for s in slots if s not in late]
            policy = schedule.catch_up
            if policy == "skip" or not late:
                to_fire = [(s, "schedule") for s in on_time]
                missed = late
            elif policy == "latest":
                to_fire = [(s, "schedule") for s in on_time] or [(late[-1], "catch_up")]
                missed = late if on_time else late[:-1]
            else:  # backfill
                kept = late[-schedule.max_backfill:]
                missed = late[:len(late) - len(kept)]
                to_fire = [(s, "catch_up") for s in kept] + [(s, "schedule") for s in on_time]
            # compare-and-set: whoever moves next_fire_at first owns these slots
            changed = session.execute(update(ScheduleRow).where(
                ScheduleRow.id == schedule_id, ScheduleRow.next_fire_at == expected).values(
                next_fire_at=following, last_fire_at=slots[-1] if slots else expected)).rowcount
            if not changed:
                session.rollback()
                return []
            runs: list[str] = []
            for slot, kind in to_fire:
                detail = {"slot": slot.isoformat(), "policy": policy} if kind == "catch_up" \
                    else {"slot": slot.isoformat()}
                try:
                    with session.begin_nested():
                        row = _fire(session, self.ws, schedule, slot, trigger=kind,
                                    detail=detail, on_active="skip" if kind == "schedule"
                                    else "queue")
                except IntegrityError:
                    continue  # this slot already has its run: exactly once
                if row is not None:
                    runs.append(row.id)
                    self.stats["skipped" if row.status == "skipped" else "fired"] += 1
            if missed:
                self.stats["missed"] += len(missed)
                _event(self.ws, "pipeline.schedule.missed",
                       f"{schedule.pipeline}: {len(missed)} slot(s) missed while no scheduler "
                       f"ran ({missed[0]:%Y-%m-%d %H:%M:%S} … {missed[-1]:%Y-%m-%d %H:%M:%S} "
                       f"UTC); catch_up={policy}", schedule.pipeline,
                       {"schedule_id": schedule_id, "missed": len(missed), "policy": policy,
                        "first": missed[0].isoformat(), "last": missed[-1].isoformat()},
                       session=session)
            return runs

    def consume_triggers(self, limit: int = 100) -> list[int]:
        """Start the runs of unconsumed trigger events; each event is consumed once."""
        consumed: list[int] = []
        with self.ws.session() as session:
            events = list(session.scalars(select(TriggerEventRow).where(
                TriggerEventRow.consumed.is_(False)).order_by(TriggerEventRow.id).limit(limit)))
            if not events:
                return consumed
            schedules = [s for s in session.scalars(select(ScheduleRow).where(
                ScheduleRow.paused.is_(False))) if s.triggers]
            for event in events:
                # the flag first: a second scheduler's identical update then changes nothing
                claimed = session.execute(update(TriggerEventRow).where(
                    TriggerEventRow.id == event.id, TriggerEventRow.consumed.is_(False)).values(
                    consumed=True, consumed_at=utcnow(), consumed_by=self.holder)).rowcount
                if not claimed:
                    continue
                run_ids: list[str] = []
                for schedule in schedules:
                    matches = any(t.get("kind") == event.kind and t.get("subject") == event.subject
                                  for t in schedule.triggers or [])
                    if not matches or as_utc(schedule.created) > as_utc(event.created):
                        continue
                    detail = {"event_id": event.id, "kind": event.kind, "subject": event.subject,
                              **({"data": event.data} if event.data else {})}
                    row = _fire(session, self.ws, schedule, None, trigger=event.kind,
                                detail=detail, on_active="queue")
                    if row is not None:
                        run_ids.append(row.id)
                session.execute(update(TriggerEventRow).where(
                    TriggerEventRow.id == event.id).values(run_ids=run_ids))
                consumed.append(event.id)
                self.stats["triggered"] += len(run_ids)
        return consumed

    def _dispatch(self) -> list[str]:
        """Claim queued runs that nobody runs yet and start them here."""
        started: list[str] = []
        with self.ws.session() as session:
            queued = list(session.scalars(select(PipelineRunRow).where(
                PipelineRunRow.status == "queued", PipelineRunRow.owner_host.is_(None)).order_by(
                PipelineRunRow.scheduled_for, PipelineRunRow.created)))
            busy = {r.pipeline for r in session.scalars(select(PipelineRunRow).where(
                PipelineRunRow.status.in_(RUN_ACTIVE), PipelineRunRow.owner_host.is_not(None)))}
            claims: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
            for row in queued:
                snapshot = row.spec or {}
                concurrency = (snapshot.get("spec") or {}).get("concurrency", "forbid")
                if concurrency == "forbid" and row.pipeline in busy:
                    continue
                changed = session.execute(update(PipelineRunRow).where(
                    PipelineRunRow.id == row.id, PipelineRunRow.owner_host.is_(None)).values(
                    owner_host=HOST, owner_pid=os.getpid(), heartbeat=utcnow())).rowcount
                if changed:
                    busy.add(row.pipeline)
                    claims.append((row.id, snapshot, dict(row.parameters or {})))
        for run_id, snapshot, params in claims:
            try:
                launch_run(self.ws, run_id, spec_from_snapshot(snapshot), params,
                           executor=self.executor, track=self.track)
                started.append(run_id)
                self.stats["started"] += 1
            except MLOpsError as exc:
                with self.ws.session() as session:
                    session.execute(update(PipelineRunRow).where(PipelineRunRow.id == run_id)
                                    .values(status="failed", finished=utcnow(),
                                            error=f"could not start: {exc.message}"))
        return started

    # -- loop -------------------------------------------------------------------------------
    def _sleep_time(self) -> float:
        """Until the next slot, at most one tick (so triggers and the lease stay fresh)."""
        try:
            with self.ws.session() as session:
                soonest = session.scalar(select(ScheduleRow.next_fire_at).where(
                    ScheduleRow.paused.is_(False), ScheduleRow.cron.is_not(None)).order_by(
                    ScheduleRow.next_fire_at).limit(1))
        except Exception:
            return self.tick_s
        pause = self.tick_s if self._busy else self.idle_tick_s
        if soonest is None:
            return pause
        wait = (as_utc(soonest) - utcnow()).total_seconds()  # type: ignore[operator]
        return max(0.0, min(pause, wait + 0.002))

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Sleep until `seconds` pass, `stop` is set, or `wake()` is called."""
        if stop is not self._stop:  # an outside stop event: poll it while waiting
            end = time.monotonic() + seconds
            while not stop.is_set() and not self._wake.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(left, 0.25))
        else:
            self._wake.wait(seconds)
        self._wake.clear()

    def run_forever(self, stop: threading.Event | None = None,
                    duration: float | None = None) -> None:
        """Tick until `stop` is set (or `duration` seconds passed); releases the lease."""
        stop = stop or self._stop
        end = None if duration is None else time.monotonic() + duration
        try:
            while not stop.is_set() and (end is None or time.monotonic() < end):
                try:
                    self.tick()
                except Exception:  # a bad moment of the DB must not end the scheduler
                    log.exception("scheduler tick failed")
                    self.is_leader = False
                    self._pause(stop, 1.0)
                    continue
                self._pause(stop, self._sleep_time() if self.is_leader
                            else max(self.tick_s, min(self.idle_tick_s, self.lease_ttl / 3)))
        finally:
            if self.is_leader:
                try:
                    self.release_lease()
                except Exception:
                    pass

    def start(self) -> Scheduler:
        """Run in a background thread (the server extension's way)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, name="mlops-scheduler",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def active_runs(self) -> list[str]:
        return [rid for rid in _orchestrators]
