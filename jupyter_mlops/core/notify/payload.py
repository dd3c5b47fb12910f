"""What a webhook receives, and the one function that posts it.

Two formats: `json`, the event as the activity log holds it (for a receiver
that acts on it: a pager, a CI job, a bot), and `slack`, one line of text in
`{"text": ...}` that Slack, Mattermost and Teams incoming webhooks show as is.
With a secret, the exact bytes posted are signed (`X-MLOps-Signature:
sha256=<hex HMAC-SHA256 of the body>`), so a receiver can prove the post came
from this workspace; the body carries the event id, so it can also drop a
repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ... import __version__

SOURCE = "jupyter-mlops"
SIGNATURE_HEADER = "X-MLOps-Signature"
#: how much of an endpoint's error answer is kept in `last_error` and the deliveries log
ERROR_BODY_CHARS = 300
#: drifted columns named in a Slack line before "…"
SLACK_COLUMNS = 8


@dataclass(frozen=True)
class PostResult:
    """What one POST came to: a 2xx status is the only success."""

    status_code: int | None
    error: str | None
    ms: float

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status_code": self.status_code, "error": self.error,
                "ms": round(self.ms, 1)}


def iso(ts: datetime) -> str:
    """SQLite hands back naive datetimes; every time the workbench stores is UTC."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)).isoformat()


def event_dict(event: Any) -> dict[str, Any]:
    """An `events` row (or anything with its attributes) as the payload's `event`."""
    return {"id": event.id, "ts": iso(event.ts), "kind": event.kind, "subject": event.subject,
            "message": event.message or "", "actor": event.actor, "data": event.data}


def _slack_escape(text: str) -> str:
    """Slack treats &, < and > as markup (links, mentions); a message must not."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(event: dict[str, Any], workspace: str) -> str:
    """One line: where, what kind, about what, the message; a drift alert's columns."""
    line = f"[{workspace}] {event['kind']}"
    if event.get("subject"):
        line += f" {event['subject']}"
    if event.get("message"):
        line += f": {event['message']}"
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    if event["kind"] == "monitor.alert" and data.get("drifted_columns"):
        columns = [str(c) for c in data["drifted_columns"]]
        more = "…" if len(columns) > SLACK_COLUMNS else ""
        line += f" — drifted columns: {', '.join(columns[:SLACK_COLUMNS])}{more}"
    return _slack_escape(line)


def build_body(event: dict[str, Any], workspace: str, fmt: str) -> bytes:
    """The exact bytes posted (and signed)."""
    if fmt == "slack":
        payload: dict[str, Any] = {"text": slack_text(event, workspace)}
    else:
        payload = {"event": event, "workspace": workspace, "source": SOURCE}
    return json.dumps(payload, default=str, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """The header value a receiver recomputes with the shared secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, event: dict[str, Any], secret: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": f"{SOURCE}/{__version__}",
               "X-MLOps-Event": str(event["kind"]), "X-MLOps-Event-Id": str(event["id"])}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return headers


def post(client: Any, url: str, event: dict[str, Any], *, workspace: str, fmt: str,
         secret: str | None) -> PostResult:
    """POST one event; never raises for the endpoint's sake (the caller records the result)."""
    import httpx

    body = build_body(event, workspace, fmt)
    started = time.perf_counter()
    try:
        answer = client.post(url, content=body, headers=headers_for(body, event, secret))
    except httpx.HTTPError as exc:
        detail = str(exc) or type(exc).__name__
        return PostResult(None, f"{type(exc).__name__}: {detail}"[:ERROR_BODY_CHARS],
                          (time.perf_counter() - started) * 1000)
    ms = (time.perf_counter() - started) * 1000
    if 200 <= answer.status_code < 300:
        return PostResult(answer.status_code, None, ms)
    text = answer.text.strip().replace("\n", " ")[:ERROR_BODY_CHARS]
    return PostResult(answer.status_code,
                      f"HTTP {answer.status_code}{': ' + text if text else ''}", ms)
