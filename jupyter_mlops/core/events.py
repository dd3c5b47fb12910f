"""The workspace activity log: every capability appends, the panel reads.

Events are small and append-only; anything large (a report, a notebook)
lives elsewhere and is referenced from `data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .db.models import Event, utcnow
from .errors import InvalidInput
from .identity import current_actor
from .workspace import Workspace

MAX_LIMIT = 1000


@dataclass(frozen=True)
class EventRecord:
    """A detached copy of an event row, safe to hand across threads and surfaces."""

    id: int
    ts: datetime
    kind: str
    subject: str | None
    message: str
    actor: str | None
    data: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts.isoformat(),
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "actor": self.actor,
            "data": self.data,
        }


def _record(row: Event) -> EventRecord:
    return EventRecord(row.id, row.ts, row.kind, row.subject, row.message, row.actor, row.data)


def record_event(
    workspace: Workspace,
    kind: str,
    message: str = "",
    *,
    subject: str | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> EventRecord:
    """Append one event; `kind` is dotted by capability (`registry.alias`, `note`…)."""
    if not kind or len(kind) > 64:
        raise InvalidInput("An event kind must be 1 to 64 characters long.")
    with workspace.session() as session:
        row = Event(ts=utcnow(), kind=kind, subject=subject, message=message,
                    actor=actor or current_actor(), data=data)
        session.add(row)
        session.flush()
        return _record(row)


def list_events(
    workspace: Workspace,
    *,
    kind: str | None = None,
    subject: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[EventRecord]:
    """Newest first; `kind` matches a whole kind or a dotted prefix (`registry`)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if kind:
        query = query.where((Event.kind == kind) | Event.kind.startswith(f"{kind}."))
    if subject:
        query = query.where(Event.subject == subject)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    with workspace.session() as session:
        return [_record(row) for row in session.scalars(query)]
