"""Schedules: cron timetables and trigger subscriptions of pipelines, kept in the state DB.

Made with `create_schedule` (REST, a cell, the CLI) or declared in a spec's
`schedule:`/`triggers:` and synced from the file (`sync_spec_schedules`).
`next_fire_times` computes slots with croniter in the schedule's timezone.
Firing them is the `Scheduler`'s job (`scheduler.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..db.pipeline_models import ScheduleRow
from ..errors import InvalidInput, MLOpsError, NotFound
from ..identity import current_actor
from ..workspace import Workspace
from .run_state import _workspace, as_utc, utcnow
from .spec import (
    TRIGGER_KINDS,
    PipelineSpec,
    check_cron,
    load_spec,
    resolve_run_parameters,
    zone_of,
)

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
