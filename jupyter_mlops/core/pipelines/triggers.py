"""Trigger events: things that happened, waiting for the scheduler to consume them once.

Capabilities record events here (`record_trigger`): a new snapshot of a
dataset (through the datasets lineage hook, `on_dataset_snapshot`), a drift
alert, a new model version. The scheduler that holds the lease consumes each
event exactly once: the runs it starts and the `consumed` flag are written in
one transaction (`scheduler.consume_triggers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..db.pipeline_models import TriggerEventRow
from ..errors import InvalidInput
from ..workspace import Workspace
from .spec import TRIGGER_KINDS


@dataclass(frozen=True)
class TriggerEvent:
    id: int
    kind: str
    subject: str
    data: dict[str, Any] | None
    created: datetime
    consumed: bool
    consumed_at: datetime | None
    consumed_by: str | None
    run_ids: list[str]

    @classmethod
    def from_row(cls, row: TriggerEventRow) -> TriggerEvent:
        from .runs import as_utc

        return cls(row.id, row.kind, row.subject, row.data,
                   as_utc(row.created),  # type: ignore[arg-type]
                   bool(row.consumed), as_utc(row.consumed_at), row.consumed_by,
                   list(row.run_ids or []))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": self.subject, "data": self.data,
                "created": self.created.isoformat(), "consumed": self.consumed,
                "consumed_at": self.consumed_at.isoformat() if self.consumed_at else None,
                "consumed_by": self.consumed_by, "run_ids": self.run_ids}


def record_trigger(kind: str, subject: str, data: dict[str, Any] | None = None, *,
                   workspace: Workspace | None = None) -> TriggerEvent:
    """Record that something happened (`dataset_snapshot`, `drift_alert`, `model_registered`)."""
    from .runs import _workspace, utcnow

    if kind not in TRIGGER_KINDS:
        raise InvalidInput(f"Unknown trigger kind {kind!r}; known: {', '.join(TRIGGER_KINDS)}.")
    if not subject or len(subject) > 256:
        raise InvalidInput("A trigger subject is 1 to 256 characters long.")
    ws = _workspace(workspace)
    with ws.session() as session:
        row = TriggerEventRow(kind=kind, subject=subject, data=data, created=utcnow(),
                              consumed=False)
        session.add(row)
        session.flush()
        return TriggerEvent.from_row(row)


def list_triggers(workspace: Workspace | None = None, *, consumed: bool | None = None,
                  limit: int = 100) -> list[TriggerEvent]:
    from .runs import _workspace

    ws = _workspace(workspace)
    query = select(TriggerEventRow).order_by(TriggerEventRow.id.desc()).limit(limit)
    if consumed is not None:
        query = query.where(TriggerEventRow.consumed == consumed)
    with ws.session() as session:
        return [TriggerEvent.from_row(r) for r in session.scalars(query)]


def on_dataset_snapshot(version: Any, action: str) -> None:
    """The datasets lineage hook: a snapshot that stored new content is a trigger event."""
    if action != "snapshot" or not getattr(version, "new", False):
        return
    # a failure here is logged by the datasets runtime and never loses the snapshot
    record_trigger("dataset_snapshot", version.name,
                   {"version": version.version, "rows": getattr(version, "rows", None),
                    "bytes": getattr(version, "bytes", None)},
                   workspace=getattr(version, "_workspace", None))


def install_dataset_trigger() -> None:
    """Kept for callers: the datasets runtime registers this trigger itself, lazily, so every
    process that snapshots data records it without importing pipelines up front."""
    from ..datasets import runtime  # noqa: F401 - importing it registers the hook
