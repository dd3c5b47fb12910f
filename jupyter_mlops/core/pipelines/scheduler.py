"""The durable scheduler: cron schedules and trigger subscriptions in the state DB.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..db.pipeline_models import LeaseRow, PipelineRunRow, ScheduleRow, TriggerEventRow
from ..errors import InvalidInput, MLOpsError, NotFound
from ..identity import current_actor
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
from .spec import (
    TRIGGER_KINDS,
    PipelineSpec,
    check_cron,
    load_spec,
    resolve_run_parameters,
    zone_of,
)

log = logging.getLogger("jupyter_mlops.core.pipelines")

LEASE_NAME = "scheduler"
DEFAULT_LEASE_TTL_S = 15.0
DEFAULT_TICK_S = 0.25
DEFAULT_MISFIRE_GRACE_S = 10.0
SYNC_EVERY_S = 30.0
RECONCILE_EVERY_S = 2.0
CATCH_UP = ("skip", "latest", "backfill")
_SKIP_DIRS = {".mlops", ".git", "node_modules", "__pycache__", ".ipynb_checkpoints", ".venv",
              "venv", ".tox"}


# -- cron ----------------------------------------------------------------------------------------
def next_fire_times(cron: str, tz: str = "UTC", n: int = 5,
                    after: datetime | None = None) -> list[datetime]:
    """The next `n` slots after `after` (default now), as UTC datetimes."""
    from croniter import croniter

    try:
        check_cron(cron, tz)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    zone = zone_of(tz)
    start = (after or utcnow()).astimezone(zone)
    it = croniter(cron, start)
    return [it.get_next(datetime).astimezone(timezone.utc) for _ in range(max(0, n))]


def slots_between(cron: str, tz: str, start: datetime, end: datetime,
                  limit: int = 100_000) -> list[datetime]:
    """Slots s with start <= s <= end, in UTC (start included: it is the stored next slot)."""
    from croniter import croniter

    zone = zone_of(tz)
    it = croniter(cron, (start - timedelta(microseconds=1)).astimezone(zone))
    out: list[datetime] = []
    while len(out) < limit:
        slot = it.get_next(datetime).astimezone(timezone.utc)
        if slot > end:
            break
        out.append(slot)
    return out


# -- schedules ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleInfo:
    id: int
    pipeline: str
    source: str
    cron: str | None
    timezone: str
    catch_up: str
    max_backfill: int
    triggers: list[dict[str, Any]]
    parameters: dict[str, Any]
    paused: bool
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    created: datetime
    updated: datetime

    @classmethod
    def from_row(cls, row: ScheduleRow) -> ScheduleInfo:
        return cls(row.id, row.pipeline, row.source, row.cron, row.timezone, row.catch_up,
                   row.max_backfill, list(row.triggers or []), dict(row.parameters or {}),
                   bool(row.paused), as_utc(row.next_fire_at), as_utc(row.last_fire_at),
                   as_utc(row.created), as_utc(row.updated))  # type: ignore[arg-type]

    def upcoming(self, n: int = 5) -> list[datetime]:
        if not self.cron:
            return []
        return next_fire_times(self.cron, self.timezone, n)

    def to_dict(self, upcoming: int = 5) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("next_fire_at", "last_fire_at", "created", "updated"):
            out[key] = out[key].isoformat() if out[key] else None
        out["upcoming"] = [t.isoformat() for t in self.upcoming(upcoming)] \
            if not self.paused else []
        return out


def _check_schedule_fields(cron: str | None, tz: str, catch_up: str, max_backfill: int,
                           triggers: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    try:
        zone_of(tz)
        if cron is not None:
            check_cron(cron, tz)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if catch_up not in CATCH_UP:
        raise InvalidInput(f"catch_up must be one of {', '.join(CATCH_UP)}, got {catch_up!r}.")
    if not 1 <= int(max_backfill) <= 1000:
        raise InvalidInput(f"max_backfill must be between 1 and 1000, got {max_backfill}.")
    out = []
    for trigger in triggers or []:
        if isinstance(trigger, dict) and set(trigger) == {"kind", "subject"}:
            kind, subject = trigger["kind"], trigger["subject"]
        elif isinstance(trigger, dict) and len(trigger) == 1:
            kind, subject = next(iter(trigger.items()))
        else:
            raise InvalidInput(f"A trigger is {{kind: subject}} (e.g. {{dataset_snapshot: "
                               f"sales}}), got {trigger!r}.")
        if kind not in TRIGGER_KINDS:
            raise InvalidInput(f"Unknown trigger kind {kind!r}; known: {', '.join(TRIGGER_KINDS)}.")
        out.append({"kind": kind, "subject": str(subject)})
    if cron is None and not out:
        raise InvalidInput("A schedule needs a cron expression, triggers, or both.")
    return out


def create_schedule(pipeline: str | os.PathLike[str], cron: str | None = None, *,
                    timezone: str = "UTC", catch_up: str = "latest", max_backfill: int = 10,
                    triggers: list[dict[str, Any]] | None = None,
                    parameters: dict[str, Any] | None = None, paused: bool = False,
                    workspace: Workspace | None = None, source: str = "user") -> ScheduleInfo:
    """Schedule a pipeline file or a notebook; the parameters are checked against it now."""
    ws = _workspace(workspace)
    spec = load_spec(pipeline, ws)
    if spec.key.startswith("inline:"):
        raise InvalidInput("Only pipelines saved in the workspace (a .pipeline.yaml file or a "
                           "notebook) can be scheduled.")
    checked = _check_schedule_fields(cron, timezone, catch_up, max_backfill, triggers)
    resolve_run_parameters(spec, parameters)  # refuse unknown or ill-typed parameters now
    now = utcnow()
    with ws.session() as session:
        row = ScheduleRow(pipeline=spec.key, source=source, cron=cron, timezone=timezone,
                          catch_up=catch_up, max_backfill=int(max_backfill), triggers=checked,
                          parameters=dict(parameters or {}), paused=paused,
                          next_fire_at=next_fire_times(cron, timezone, 1, now)[0]
                          if cron else None,
                          created=now, updated=now, actor=current_actor())
        session.add(row)
        session.flush()
        return ScheduleInfo.from_row(row)


def get_schedule(schedule_id: int, workspace: Workspace | None = None) -> ScheduleInfo:
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.get(ScheduleRow, schedule_id)
        if row is None:
            raise NotFound(f"Schedule {schedule_id} not found.")
        return ScheduleInfo.from_row(row)


def list_schedules(workspace: Workspace | None = None, *,
                   pipeline: str | None = None) -> list[ScheduleInfo]:
    ws = _workspace(workspace)
    query = select(ScheduleRow).order_by(ScheduleRow.id)
    if pipeline:
        query = query.where(ScheduleRow.pipeline == pipeline)
    with ws.session() as session:
        return [ScheduleInfo.from_row(r) for r in session.scalars(query)]


def update_schedule(schedule_id: int, workspace: Workspace | None = None,
                    **changes: Any) -> ScheduleInfo:
    """Change cron, timezone, catch_up, max_backfill, triggers, parameters or paused."""
    allowed = {"cron", "timezone", "catch_up", "max_backfill", "triggers", "parameters", "paused"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput(f"Unknown schedule field(s) {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(allowed))}.")
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.get(ScheduleRow, schedule_id)
        if row is None:
            raise NotFound(f"Schedule {schedule_id} not found.")
        cron = changes.get("cron", row.cron)
        tz = changes.get("timezone", row.timezone)
        checked = _check_schedule_fields(cron, tz, changes.get("catch_up", row.catch_up),
                                         changes.get("max_backfill", row.max_backfill),
                                         changes.get("triggers", row.triggers))
        if "parameters" in changes:
            spec = load_spec(row.pipeline, ws)
            resolve_run_parameters(spec, changes["parameters"])
        was_paused = bool(row.paused)
        for key, value in changes.items():
            setattr(row, key, checked if key == "triggers" else value)
        now = utcnow()
        row.updated = now
        if "cron" in changes or "timezone" in changes or (was_paused and not row.paused):
            # a new timetable (or a resume) starts from now: no catch-up of the pause
            row.next_fire_at = next_fire_times(cron, tz, 1, now)[0] if cron else None
        return ScheduleInfo.from_row(row)


def pause_schedule(schedule_id: int, workspace: Workspace | None = None) -> ScheduleInfo:
    return update_schedule(schedule_id, workspace, paused=True)


def resume_schedule(schedule_id: int, workspace: Workspace | None = None) -> ScheduleInfo:
    """Resume from now on: slots that fell while paused are not caught up."""
    return update_schedule(schedule_id, workspace, paused=False)


def delete_schedule(schedule_id: int, workspace: Workspace | None = None) -> None:
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.get(ScheduleRow, schedule_id)
        if row is None:
            raise NotFound(f"Schedule {schedule_id} not found.")
        session.delete(row)


def discover_pipelines(workspace: Workspace, limit: int = 2000) -> list[Path]:
    """`*.pipeline.yaml` files under the root (hidden and tool folders skipped)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(workspace.root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".pipeline.yaml", ".pipeline.yml")):
                found.append(Path(folder) / name)
                if len(found) >= limit:
                    return found
    return found


def sync_spec_schedules(workspace: Workspace | None = None,
                        paths: Iterable[str | os.PathLike[str]] | None = None) -> list[str]:
    """Make `source=spec` schedules match the specs' `schedule:`/`triggers:`; returns problems.

    A spec that fails to load keeps its schedule as it was (and is reported):
    a typo must not silently stop a production schedule.
    """
    ws = _workspace(workspace)
    files = [ws.resolve_path(p) for p in paths] if paths is not None else discover_pipelines(ws)
    problems: list[str] = []
    wanted: dict[str, PipelineSpec | None] = {}
    for path in files:
        key = ws.relpath(path)
        try:
            wanted[key] = load_spec(path, ws)
        except MLOpsError as exc:
            problems.append(exc.message)
            wanted[key] = None
    now = utcnow()
    with ws.session() as session:
        existing = {r.pipeline: r for r in session.scalars(
            select(ScheduleRow).where(ScheduleRow.source == "spec"))}
        for key, spec in wanted.items():
            if spec is None:
                continue
            row = existing.get(key)
            if spec.schedule is None and not spec.triggers:
                if row is not None:
                    session.delete(row)
                continue
            cron = spec.schedule.cron if spec.schedule else None
            tz = spec.schedule.timezone if spec.schedule else "UTC"
            fields = {"cron": cron, "timezone": tz,
                      "catch_up": spec.schedule.catch_up if spec.schedule else "latest",
                      "max_backfill": spec.schedule.max_backfill if spec.schedule else 10,
                      "triggers": [{"kind": t.kind, "subject": t.subject} for t in spec.triggers]}
            if row is None:
                session.add(ScheduleRow(
                    pipeline=key, source="spec", parameters={}, created=now, updated=now,
                    paused=bool(spec.schedule.paused) if spec.schedule else False,
                    next_fire_at=next_fire_times(cron, tz, 1, now)[0] if cron else None,
                    actor=current_actor(), **fields))
                continue
            if any(getattr(row, k) != v for k, v in fields.items()):
                retimed = row.cron != cron or row.timezone != tz
                for k, v in fields.items():
                    setattr(row, k, v)
                row.updated = now
                if retimed:
                    row.next_fire_at = next_fire_times(cron, tz, 1, now)[0] if cron else None
        if paths is None:  # a full scan: schedules of deleted spec files go too
            for key, row in existing.items():
                if key not in wanted:
                    session.delete(row)
    return problems


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


def _fire(session: Any, ws: Workspace, schedule: ScheduleRow, slot: datetime | None, *,
          trigger: str, detail: dict[str, Any] | None, on_active: str) -> PipelineRunRow | None:
    """Create the run of one slot or trigger (the caller commits). `on_active`: what forbid
    does when a run is active — "skip" (record a skipped slot) or "queue"."""
    try:
        spec = load_spec(schedule.pipeline, ws)
        params = resolve_run_parameters(spec, schedule.parameters)
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
                 track: bool = True) -> None:
        if reconcile not in ("fail", "retry"):
            raise InvalidInput(f"reconcile must be 'fail' or 'retry', got {reconcile!r}.")
        self.ws = _workspace(workspace)
        self._executor = executor
        self.lease_ttl = float(lease_ttl)
        self.tick_s = float(tick)
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
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_ttl)
        with self.ws.session() as session:
            changed = session.execute(update(LeaseRow).where(
                LeaseRow.name == LEASE_NAME,
                or_(LeaseRow.holder == self.holder, LeaseRow.expires < now)).values(
                holder=self.holder, expires=expires)).rowcount
            if changed:
                return True
            if session.get(LeaseRow, LEASE_NAME) is not None:
                return False
            try:
                with session.begin_nested():
                    session.add(LeaseRow(name=LEASE_NAME, holder=self.holder, acquired=now,
                                         expires=expires))
                return True
            except IntegrityError:
                return False

    def release_lease(self) -> None:
        with self.ws.session() as session:
            session.execute(update(LeaseRow).where(
                LeaseRow.name == LEASE_NAME, LeaseRow.holder == self.holder).values(
                expires=utcnow() - timedelta(seconds=1)))
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
            try:  # spawn workers and pre-start kernels now, not at the first due slot
                self.executor
            except MLOpsError as exc:
                log.warning("executor not started: %s", exc.message)
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
        return report

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
        if soonest is None:
            return self.tick_s
        wait = (as_utc(soonest) - utcnow()).total_seconds()  # type: ignore[operator]
        return max(0.0, min(self.tick_s, wait + 0.002))

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
                    stop.wait(1.0)
                    continue
                stop.wait(self._sleep_time() if self.is_leader else self.tick_s)
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
        if self._thread is not None:
            self._thread.join(timeout)

    def active_runs(self) -> list[str]:
        return [rid for rid in _orchestrators]
