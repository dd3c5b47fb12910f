"""Pydantic models of the webhook routes.

Field for field the records of `core.notify` (`Webhook.to_dict()`,
`Delivery.to_dict()`), so a webhook added from a terminal and one added
through REST read the same. The secret is write-only: requests may set it,
no answer holds it (`has_secret` says whether there is one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .models import StrictModel

WebhookFormat = Literal["json", "slack"]

_EVENTS = ("Match patterns: a kind ('monitor.alert'), a dotted prefix ('deploy'), "
           "'kind=status' ('pipeline.run=failed|cancelled') or '*'")


class WebhookCreate(StrictModel):
    name: str = Field(..., min_length=1, max_length=128, description="Unique name")
    url: str = Field(..., min_length=1, max_length=2048, description="http:// or https:// "
                                                                     "endpoint")
    events: list[str] = Field(..., min_length=1, description=_EVENTS)
    format: WebhookFormat = Field("json", description="'json': the event; 'slack': "
                                                      "{\"text\": one line}")
    secret: str | None = Field(None, max_length=256,
                               description="Signs each post: X-MLOps-Signature: sha256=<HMAC>")
    enabled: bool = True


class WebhookPatch(StrictModel):
    url: str | None = Field(None, min_length=1, max_length=2048)
    events: list[str] | None = Field(None, min_length=1, description=_EVENTS)
    format: WebhookFormat | None = None
    secret: str | None = Field(None, max_length=256, description="'' removes the secret")
    enabled: bool | None = Field(None, description="A re-enabled webhook resumes where its "
                                                   "cursor stopped")


class WebhookModel(BaseModel):
    id: int
    name: str
    url: str = Field(description="With any password in it masked")
    events: list[str]
    format: WebhookFormat
    has_secret: bool
    enabled: bool
    created: str
    updated: str
    actor: str | None = None
    last_event_id: int = Field(description="Every event up to this id was delivered or did "
                                           "not match")
    failures: int = Field(description="Consecutive failed posts (0 after a success)")
    last_error: str | None = None
    next_attempt_at: str | None = Field(None, description="Backing off until then")


class WebhookList(BaseModel):
    webhooks: list[WebhookModel]


class WebhookDeleted(BaseModel):
    name: str
    deleted: bool


class WebhookTestResult(BaseModel):
    webhook: str
    ok: bool
    status_code: int | None = None
    error: str | None = None
    ms: float


class WebhookDeliveryModel(BaseModel):
    id: int
    webhook: str
    event_id: int | None = Field(None, description="None for a test send")
    kind: str
    ts: str
    ok: bool
    status_code: int | None = None
    error: str | None = None
    ms: float | None = None
    holder: str | None = Field(None, description="The deliverer (server) that posted")


class WebhookDeliveryQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)


class WebhookDeliveryList(BaseModel):
    deliveries: list[WebhookDeliveryModel]
