"""The workspace timeline: everything that happened, in one time-ordered list.

    from jupyter_mlops import timeline
    timeline(since="1d", kinds=["alert", "gate", "alias"])

It joins what each capability already keeps — MLflow runs, dataset
snapshots, pipeline runs, gate results, alias moves, deployment events, drift
checks, monitor alerts and the workspace events — with one query per source
(each asked for the same `limit`, newest first, in the same time range) and a
merge, so a page costs about ten small indexed queries however large the
workspace is. Events that only echo a row another source already lists
(`datasets.snapshot`, `registry.alias`, `deploy.*`, `drift.check`,
`monitor.alert`, …) are left out, so nothing shows twice.

Every item has `ref`: what a surface opens for it (`{"kind": "run", "id": …}`,
`{"kind": "dataset", "name": …, "version": …}`…). Paging: pass the last
item's `time` as `before` for the next page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from .db.models import aware
from .errors import InvalidInput
from .workspace import Workspace

log = logging.getLogger("jupyter_mlops.core.timeline")

TIMELINE_KINDS = ("run", "dataset", "pipeline_run", "gate", "alias", "deployment",
                  "drift_check", "alert", "event")
MAX_LIMIT = 1000

#: event kinds (or dotted prefixes) another source already lists
_ECHOED = ("datasets.snapshot", "registry.alias", "registry.gate", "deploy", "drift.check",
           "monitor.alert", "pipeline.run")


@dataclass
class TimelineItem:
    """One thing that happened: what, when, its outcome, and what to open for it."""

    kind: str
    id: str
    time: datetime
    title: str
    status: str | None = None
    subject: str | None = None
    actor: str | None = None
    ref: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "time": self.time.isoformat(),
                "title": self.title, "status": self.status, "subject": self.subject,
                "actor": self.actor, "ref": self.ref, "detail": self.detail}

    def __repr__(self) -> str:
        return f"<{self.kind} {self.time:%Y-%m-%d %H:%M:%S} {self.title!r} {self.status or ''}>"


@dataclass
class _Range:
    since: datetime | None
    until: datetime | None  # inclusive
    before: datetime | None  # exclusive (paging)
    limit: int

    def where(self, column: Any) -> list[Any]:
        out = []
        if self.since is not None:
            out.append(column >= self.since)
        if self.until is not None:
            out.append(column <= self.until)
        if self.before is not None:
            out.append(column < self.before)
        return out


def _time(value: Any, what: str) -> datetime | None:
    """A datetime, an ISO string, or a duration back from now ('1h', '7d')."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, timedelta):
        return datetime.now(timezone.utc) - value
    if isinstance(value, str):
        from .monitor.spec import parse_duration

        text = value.strip()
        if text[:1].isdigit() and text[-1:] in "smhdw":
            try:
                return datetime.now(timezone.utc) - parse_duration(text, what)
            except InvalidInput:
                pass
        try:
            return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise InvalidInput(f"{what}: write a datetime, an ISO time or a duration back from now "
                       f"like '1h' or '7d'; got {value!r}.", details={what: str(value)})


# -- the sources: one query each ----------------------------------------------------------------
def _runs(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .mlflow_store import sqlite_path

    path = sqlite_path(ws.tracking_uri)
    if path is not None and not path.exists():
        return []  # no MLflow store yet, so no runs (and no seconds spent creating one)
    client = ws.mlflow.client
    ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
    if not ids:
        return []
    ms = (lambda t: int(t.timestamp() * 1000))
    clauses = []
    if r.since is not None:
        clauses.append(f"attributes.start_time >= {ms(r.since)}")
    if r.until is not None:
        clauses.append(f"attributes.start_time <= {ms(r.until)}")
    if r.before is not None:
        clauses.append(f"attributes.start_time < {ms(r.before)}")
    runs = client.search_runs(ids, filter_string=" and ".join(clauses), max_results=r.limit,
                              order_by=["attributes.start_time DESC"])
    items = []
    for run in runs:
        info, tags = run.info, run.data.tags
        when = datetime.fromtimestamp(info.start_time / 1000, tz=timezone.utc)
        name = info.run_name or info.run_id[:12]
        items.append(TimelineItem(
            "run", f"run:{info.run_id}", when, f"Run {name}", info.status.lower(),
            subject=tags.get("mlops.pipeline") or tags.get("mlflow.source.name"),
            actor=tags.get("mlflow.user") or info.user_id or None,
            ref={"kind": "run", "id": info.run_id, "experiment_id": str(info.experiment_id)},
            detail={"metrics": {k: v for k, v in list(run.data.metrics.items())[:6]}}))
    return items


def _datasets(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.dataset_models import DatasetRow, DatasetVersionRow

    v = DatasetVersionRow
    query = (select(v.id, v.version, v.created, v.rows, v.bytes, v.kind, v.actor, DatasetRow.name)
             .join(DatasetRow, DatasetRow.id == v.dataset_id)
             .where(*r.where(v.created)).order_by(v.created.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "dataset", f"dataset:{row.id}", aware(row.created), f"Snapshot {row.name}@{row.version[:12]}",
        "stored", subject=row.name, actor=row.actor,
        ref={"kind": "dataset", "name": row.name, "version": row.version},
        detail={"rows": row.rows, "bytes": row.bytes, "type": row.kind}) for row in rows]


def _pipeline_runs(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.pipeline_models import PipelineRunRow as P

    query = (select(P.id, P.name, P.pipeline, P.status, P.trigger, P.created, P.finished,
                    P.actor, P.error, P.mlflow_run_id)
             .where(*r.where(P.created)).order_by(P.created.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "pipeline_run", f"pipeline_run:{row.id}", aware(row.created),
        f"Pipeline {row.name} ({row.trigger})", row.status, subject=row.pipeline, actor=row.actor,
        ref={"kind": "pipeline_run", "id": row.id, "pipeline": row.pipeline},
        detail={"trigger": row.trigger, "error": row.error, "mlflow_run_id": row.mlflow_run_id,
                "finished": aware(row.finished).isoformat() if row.finished else None})
        for row in rows]


def _gates(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.registry_models import GateResultRow as G

    query = (select(G.id, G.model, G.challenger_version, G.champion_version, G.passed,
                    G.promoted, G.promoted_alias, G.ts, G.actor, G.dataset, G.reasons)
             .where(*r.where(G.ts)).order_by(G.ts.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "gate", f"gate:{row.id}", aware(row.ts),
        f"Gate {row.model} v{row.challenger_version} vs "
        + (f"v{row.champion_version}" if row.champion_version is not None else "no champion"),
        "passed" if row.passed else "failed", subject=row.model, actor=row.actor,
        ref={"kind": "gate", "id": row.id, "name": row.model,
             "version": row.challenger_version},
        detail={"promoted": bool(row.promoted), "alias": row.promoted_alias,
                "dataset": row.dataset, "reasons": list(row.reasons or [])[:3]})
        for row in rows]


def _aliases(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.registry_models import AliasHistoryRow as A

    query = (select(A.id, A.model, A.alias, A.from_version, A.to_version, A.via, A.ts, A.actor,
                    A.reason).where(*r.where(A.ts)).order_by(A.ts.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    items = []
    for row in rows:
        moved = (f"{row.model}@{row.alias} removed" if row.to_version is None else
                 f"{row.model}@{row.alias} → v{row.to_version}"
                 + (f" (was v{row.from_version})" if row.from_version is not None else ""))
        items.append(TimelineItem(
            "alias", f"alias:{row.id}", aware(row.ts), moved, row.via, subject=row.model,
            actor=row.actor, ref={"kind": "alias", "name": row.model, "alias": row.alias,
                                  "version": row.to_version},
            detail={"reason": row.reason, "from_version": row.from_version}))
    return items


def _deployments(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.deploy_models import DeploymentEventRow as E
    from .db.deploy_models import DeploymentRow as D

    query = (select(E.id, E.kind, E.message, E.ts, E.actor, D.name)
             .join(D, D.id == E.deployment_id)
             .where(*r.where(E.ts)).order_by(E.ts.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "deployment", f"deployment:{row.id}", aware(row.ts), row.message or row.kind, row.kind,
        subject=row.name, actor=row.actor, ref={"kind": "deployment", "name": row.name})
        for row in rows]


def _drift_checks(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.drift_models import DriftCheckRow as C

    query = (select(C.id, C.created, C.reference, C.current, C.drifted, C.share, C.n_drifted,
                    C.n_evaluated, C.origin, C.actor, C.current_dataset, C.reference_dataset)
             .where(*r.where(C.created)).order_by(C.created.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "drift_check", f"drift_check:{row.id}", aware(row.created),
        f"Drift {row.reference} → {row.current}: {row.n_drifted}/{row.n_evaluated} drifted",
        "drift" if row.drifted else "ok", subject=row.current_dataset or row.reference_dataset,
        actor=row.actor, ref={"kind": "drift_check", "id": row.id},
        detail={"share": row.share, "origin": row.origin}) for row in rows]


def _alerts(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from .db.monitor_models import AlertRow as A

    query = (select(A.id, A.monitor, A.deployment, A.created, A.status, A.title, A.share,
                    A.drift_check_id, A.trigger_id, A.acknowledged_by)
             .where(*r.where(A.created)).order_by(A.created.desc()).limit(r.limit))
    with ws.session() as session:
        rows = session.execute(query).all()
    return [TimelineItem(
        "alert", f"alert:{row.id}", aware(row.created), row.title, row.status,
        subject=row.monitor, actor="monitor",
        ref={"kind": "alert", "id": row.id, "monitor": row.monitor,
             "drift_check_id": row.drift_check_id},
        detail={"deployment": row.deployment, "share": row.share, "trigger_id": row.trigger_id,
                "acknowledged_by": row.acknowledged_by}) for row in rows]


def _events(ws: Workspace, r: _Range) -> list[TimelineItem]:
    from sqlalchemy import not_, or_

    from .db.models import Event

    echoed = or_(*[(Event.kind == k) | Event.kind.startswith(f"{k}.") for k in _ECHOED])
    query = (select(Event).where(not_(echoed), *r.where(Event.ts))
             .order_by(Event.ts.desc()).limit(r.limit))
    with ws.session() as session:
        rows = list(session.scalars(query))
    return [TimelineItem(
        "event", f"event:{row.id}", aware(row.ts), row.message or row.kind, row.kind,
        subject=row.subject, actor=row.actor, ref={"kind": "event", "id": row.id,
                                                   "event_kind": row.kind,
                                                   "subject": row.subject},
        detail={k: v for k, v in (row.data or {}).items()
                if isinstance(v, (str, int, float, bool)) or v is None})
        for row in rows]


SOURCES: dict[str, Callable[[Workspace, _Range], list[TimelineItem]]] = {
    "run": _runs, "dataset": _datasets, "pipeline_run": _pipeline_runs, "gate": _gates,
    "alias": _aliases, "deployment": _deployments, "drift_check": _drift_checks,
    "alert": _alerts, "event": _events,
}


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    next_before: datetime | None
    unavailable: dict[str, str]


def timeline_page(since: Any = None, until: Any = None, kinds: Iterable[str] | str | None = None,
                  limit: int = 200, before: Any = None, *,
                  workspace: Workspace | None = None) -> TimelinePage:
    """`timeline()` with paging and the sources that could not answer (kind → reason)."""
    from .errors import MLOpsError

    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}.")
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    wanted = list(kinds) if kinds else list(TIMELINE_KINDS)
    unknown = [k for k in wanted if k not in SOURCES]
    if unknown:
        raise InvalidInput(f"Unknown timeline kind(s) {', '.join(unknown)}; known: "
                           f"{', '.join(TIMELINE_KINDS)}.", details={"kinds": unknown})
    window = _Range(_time(since, "since"), _time(until, "until"), _time(before, "before"), limit)
    if window.since and window.until and window.since > window.until:
        raise InvalidInput("since is after until: the range is empty.")
    from .workspace import use_workspace

    workspace = use_workspace(workspace)
    items: list[TimelineItem] = []
    unavailable: dict[str, str] = {}
    exhausted = True  # no source filled its limit: nothing older is left
    for kind in wanted:
        try:
            found = SOURCES[kind](workspace, window)
            exhausted = exhausted and len(found) < limit
            items.extend(found)
        except MLOpsError as exc:  # one store down must not blank the whole timeline
            unavailable[kind] = exc.message
        except Exception as exc:  # noqa: BLE001 - logged; the other sources still answer
            log.warning("timeline source %s failed", kind, exc_info=True)
            unavailable[kind] = f"{type(exc).__name__}: {exc}"
    items.sort(key=lambda i: i.time, reverse=True)
    page = items[:limit]
    more = len(items) > limit or not exhausted
    return TimelinePage(page, page[-1].time if page and more else None, unavailable)


def timeline(since: Any = None, until: Any = None, kinds: Iterable[str] | str | None = None,
             limit: int = 200, before: Any = None, *,
             workspace: Workspace | None = None) -> list[TimelineItem]:
    """Everything that happened in the workspace, newest first (see the module doc).

    `since`/`until` take datetimes, ISO times or durations back from now ('1d');
    `kinds` keeps some of `TIMELINE_KINDS`; `before` (exclusive) pages back.
    """
    return timeline_page(since, until, kinds, limit, before, workspace=workspace).items
