"""Webhooks: which events of the activity log go where, stored in the state DB.

    add_webhook("ops", "https://hooks.slack.com/services/…", ["monitor.alert",
                "pipeline.run=failed", "deploy.rollback"], format="slack")
    test_webhook("ops")          # posts a synthetic `notify.test` now
    list_deliveries("ops")       # what the endpoint answered, newest first

A pattern is an event kind (`monitor.alert`), a dotted prefix of kinds
(`deploy` matches `deploy.rollback`), either followed by `=status` to keep
only events whose `data.status` is one of `|`-separated values
(`pipeline.run=failed|cancelled`), or `*` for everything. A new webhook's
cursor starts at the newest event: it hears what happens from now on, not the
history. Posting is `deliver.py`'s job (the outbox): nothing here sends but
`test_webhook`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..db.models import Event, utcnow
from ..db.notify_models import DeliveryRow, WebhookRow
from ..errors import Conflict, InvalidInput, NotFound
from ..identity import current_actor
from ..workspace import Workspace, mask_url, use_workspace
from .payload import PostResult, iso

FORMATS = ("json", "slack")
#: deliveries kept per webhook (older ones are pruned as new ones are recorded)
KEEP_DELIVERIES = 500
#: most deliveries one listing returns
MAX_LIMIT = 500
MAX_PATTERNS = 50
TEST_KIND = "notify.test"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_SEGMENT = r"[A-Za-z0-9_\-]+"
_PATTERN = re.compile(rf"^(\*|{_SEGMENT}(\.{_SEGMENT})*)(=[A-Za-z0-9_\-]+(\|[A-Za-z0-9_\-]+)*)?$")


# -- validation -----------------------------------------------------------------------------
def validate_webhook_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"A webhook name is 1 to 128 letters, digits, '.', '_' or '-', "
                           f"starting with a letter or digit; got {name!r}.",
                           details={"name": name})
    return name


def validate_url(url: Any) -> str:
    """http(s) with a host, nothing else: the deliverer posts to it from the server."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("A webhook URL is required (http:// or https://).")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"A webhook URL must be http:// or https:// with a host, "
                           f"got {mask_url(url)!r}.", details={"url": mask_url(url)})
    if len(url) > 2048 or any(c.isspace() for c in url):
        raise InvalidInput("A webhook URL must be at most 2048 characters, without spaces.")
    return url


def validate_patterns(patterns: Any) -> list[str]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise InvalidInput("Name at least one event pattern: a kind ('monitor.alert'), a "
                           "prefix ('deploy'), 'kind=status' ('pipeline.run=failed') or '*'.")
    if len(patterns) > MAX_PATTERNS:
        raise InvalidInput(f"At most {MAX_PATTERNS} event patterns, got {len(patterns)}.")
    cleaned: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not _PATTERN.match(pattern.strip()):
            raise InvalidInput(
                f"Invalid event pattern {pattern!r}: use a kind ('monitor.alert'), a dotted "
                f"prefix ('deploy'), 'kind=status' ('pipeline.run=failed|cancelled') or '*'.",
                details={"pattern": pattern})
        if pattern.strip() not in cleaned:
            cleaned.append(pattern.strip())
    return cleaned


def validate_format(fmt: Any) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"A webhook format is one of {', '.join(FORMATS)}; got {fmt!r}.")
    return str(fmt)


# -- matching -------------------------------------------------------------------------------
def pattern_matches(pattern: str, kind: str, data: Any) -> bool:
    """`kind`, a dotted prefix of it, or `*`; with `=a|b`, `data.status` must be a or b."""
    prefix, _, statuses = pattern.partition("=")
    if prefix != "*" and kind != prefix and not kind.startswith(prefix + "."):
        return False
    if not statuses:
        return True
    status = data.get("status") if isinstance(data, dict) else None
    return status is not None and str(status) in statuses.split("|")


def event_matches(patterns: list[str], kind: str, data: Any) -> bool:
    return any(pattern_matches(p, kind, data) for p in patterns)


# -- records --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Webhook:
    """A detached snapshot of a webhook; the secret stays in the database."""

    id: int
    name: str
    url: str
    events: list[str]
    format: str
    has_secret: bool
    enabled: bool
    created: datetime
    updated: datetime
    actor: str | None
    last_event_id: int
    failures: int
    last_error: str | None
    next_attempt_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        return cls(row.id, row.name, row.url, list(row.events or []), row.format,
                   bool(row.secret), bool(row.enabled), row.created, row.updated, row.actor,
                   int(row.last_event_id or 0), int(row.failures or 0), row.last_error,
                   row.next_attempt_at)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": mask_url(self.url),
                "events": list(self.events), "format": self.format,
                "has_secret": self.has_secret, "enabled": self.enabled,
                "created": iso(self.created), "updated": iso(self.updated), "actor": self.actor,
                "last_event_id": self.last_event_id, "failures": self.failures,
                "last_error": self.last_error,
                "next_attempt_at": iso(self.next_attempt_at) if self.next_attempt_at else None}


@dataclass(frozen=True)
class Delivery:
    """One attempt to post one event to one webhook."""

    id: int
    webhook: str
    event_id: int | None
    kind: str
    ts: datetime
    ok: bool
    status_code: int | None
    error: str | None
    ms: float | None
    holder: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "webhook": self.webhook, "event_id": self.event_id,
                "kind": self.kind, "ts": iso(self.ts), "ok": self.ok,
                "status_code": self.status_code, "error": self.error,
                "ms": round(self.ms, 1) if self.ms is not None else None,
                "holder": self.holder}


def get_row(session: Any, name: str) -> WebhookRow:
    row = session.scalar(select(WebhookRow).where(WebhookRow.name == name))
    if row is None:
        known = session.scalars(select(WebhookRow.name).order_by(WebhookRow.name)
                                .limit(20)).all()
        raise NotFound(f"No webhook named {name!r}. Webhooks: {', '.join(known) or 'none yet'}.",
                       details={"name": name, "webhooks": list(known)})
    return row


def record_delivery(session: Any, webhook_id: int, event_id: int | None, kind: str,
                    result: PostResult, holder: str | None) -> None:
    """Log an attempt and keep only the newest `KEEP_DELIVERIES` of the webhook."""
    session.add(DeliveryRow(webhook_id=webhook_id, event_id=event_id, kind=kind[:64],
                            ts=utcnow(), ok=result.ok, status_code=result.status_code,
                            error=result.error, ms=result.ms, holder=holder))
    session.flush()
    cutoff = session.scalar(select(DeliveryRow.id).where(DeliveryRow.webhook_id == webhook_id)
                            .order_by(DeliveryRow.id.desc()).offset(KEEP_DELIVERIES).limit(1))
    if cutoff is not None:
        session.execute(delete(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id,
                                                  DeliveryRow.id <= cutoff))


def _audit(session: Any, kind: str, name: str, message: str, data: dict[str, Any]) -> None:
    """In the same transaction as the change: who added or changed where events go."""
    session.add(Event(ts=utcnow(), kind=kind, subject=name, message=message,
                      actor=current_actor(), data=data))
    session.flush()


# -- the API --------------------------------------------------------------------------------
def add_webhook(name: str, url: str, events: list[str] | str, *, format: str = "json",
                secret: str | None = None, enabled: bool = True,
                workspace: Workspace | str | None = None) -> Webhook:
    """Store a webhook; it hears the events recorded from now on."""
    ws = use_workspace(workspace)
    name = validate_webhook_name(name)
    url, patterns, fmt = validate_url(url), validate_patterns(events), validate_format(format)
    now = utcnow()
    try:
        with ws.session() as session:
            if session.scalar(select(WebhookRow.id).where(WebhookRow.name == name)) is not None:
                raise Conflict(f"A webhook named {name!r} exists; remove it or pick another "
                               f"name.", details={"name": name})
            _audit(session, "notify.webhook.added", name,
                   f"Webhook {name} added: {', '.join(patterns)} → {mask_url(url)}",
                   {"webhook": name, "url": mask_url(url), "events": patterns, "format": fmt})
            newest = session.scalar(select(func.max(Event.id))) or 0
            row = WebhookRow(name=name, url=url, events=patterns, format=fmt,
                             secret=secret or None, enabled=bool(enabled), last_event_id=newest,
                             failures=0, created=now, updated=now, actor=current_actor())
            session.add(row)
            session.flush()
            return Webhook.from_row(row)
    except IntegrityError as exc:  # another process added the same name meanwhile
        raise Conflict(f"A webhook named {name!r} exists.", details={"name": name}) from exc


def list_webhooks(*, workspace: Workspace | str | None = None) -> list[Webhook]:
    ws = use_workspace(workspace)
    with ws.session() as session:
        return [Webhook.from_row(r) for r in
                session.scalars(select(WebhookRow).order_by(WebhookRow.name))]


def get_webhook(name: str, *, workspace: Workspace | str | None = None) -> Webhook:
    ws = use_workspace(workspace)
    with ws.session() as session:
        return Webhook.from_row(get_row(session, str(name)))


def update_webhook(name: str, *, url: str | None = None, events: list[str] | str | None = None,
                   format: str | None = None, secret: str | None = None,
                   enabled: bool | None = None,
                   workspace: Workspace | str | None = None) -> Webhook:
    """Change what is given (`secret=""` removes the secret). A changed endpoint or a
    re-enabled webhook is tried at once, from where its cursor stopped."""
    ws = use_workspace(workspace)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = validate_url(url)
    if events is not None:
        changes["events"] = validate_patterns(events)
    if format is not None:
        changes["format"] = validate_format(format)
    if secret is not None:
        changes["secret"] = secret or None
    if enabled is not None:
        changes["enabled"] = bool(enabled)
    with ws.session() as session:
        row = get_row(session, str(name))
        if not changes:
            return Webhook.from_row(row)
        retry_now = ("url" in changes and changes["url"] != row.url) or \
            (changes.get("enabled") is True and not row.enabled)
        for key, value in changes.items():
            setattr(row, key, value)
        if retry_now:
            row.next_attempt_at = None
        row.updated, row.actor = utcnow(), current_actor()
        shown = {k: (mask_url(v) if k == "url" else v) for k, v in changes.items()
                 if k != "secret"}
        if "secret" in changes:
            shown["has_secret"] = changes["secret"] is not None
        _audit(session, "notify.webhook.updated", row.name,
               f"Webhook {row.name} updated: {', '.join(sorted(shown))}",
               {"webhook": row.name, **shown})
        return Webhook.from_row(row)


def remove_webhook(name: str, *, workspace: Workspace | str | None = None) -> None:
    ws = use_workspace(workspace)
    with ws.session() as session:
        row = get_row(session, str(name))
        session.execute(delete(DeliveryRow).where(DeliveryRow.webhook_id == row.id))
        session.delete(row)
        _audit(session, "notify.webhook.removed", row.name, f"Webhook {row.name} removed",
               {"webhook": row.name})


def list_deliveries(name: str, limit: int = 50, *,
                    workspace: Workspace | str | None = None) -> list[Delivery]:
    """The webhook's attempts, newest first (at most the last `KEEP_DELIVERIES`)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}.")
    ws = use_workspace(workspace)
    with ws.session() as session:
        row = get_row(session, str(name))
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.webhook_id == row.id)
                               .order_by(DeliveryRow.id.desc()).limit(limit))
        return [Delivery(d.id, row.name, d.event_id, d.kind, d.ts, d.ok, d.status_code,
                         d.error, d.ms, d.holder) for d in rows]


def test_webhook(name: str, *, timeout: float = 5.0,
                 workspace: Workspace | str | None = None) -> dict[str, Any]:
    """Post a synthetic `notify.test` event now (enabled or not) and say how it went.

    It is not an event of the log and moves no cursor; the attempt is in the
    deliveries log."""
    import httpx

    from .payload import post

    ws = use_workspace(workspace)
    with ws.session() as session:
        row = get_row(session, str(name))
        hook_id, url, fmt, secret, hook_name = row.id, row.url, row.format, row.secret, row.name
    actor = current_actor()
    event = {"id": 0, "ts": iso(utcnow()), "kind": TEST_KIND, "subject": hook_name,
             "message": f"Test of webhook {hook_name} from jupyter-mlops, sent by {actor}",
             "actor": actor, "data": {"webhook": hook_name, "test": True}}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        result = post(client, url, event, workspace=ws.root.name, fmt=fmt, secret=secret)
    with ws.session() as session:
        record_delivery(session, hook_id, None, TEST_KIND, result, holder=None)
    return {"webhook": hook_name, **result.to_dict()}


# `test_webhook` is an API function, not a test: keep pytest from collecting it on import
test_webhook.__test__ = False  # type: ignore[attr-defined]
