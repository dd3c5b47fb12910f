"""SQLAlchemy models of the notification tables (schema owned by migration 0006_notify).

- `webhooks`: where to post which events of the activity log, in which format,
  signed with which secret. `last_event_id` is the webhook's delivery cursor
  into `events` (the outbox): every event up to it was delivered or did not
  match. `failures` / `next_attempt_at` hold the back-off after a failed post:
  the event that failed is the next one tried, so nothing is lost and order holds.
- `webhook_deliveries`: each attempt to post (the last few hundred per webhook),
  what the endpoint answered and how long it took.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .mixins import CreatedUpdatedByMixin
from .models import Base, utcnow


class WebhookRow(CreatedUpdatedByMixin, Base):
    """One webhook: an endpoint subscribed to some kinds of events."""

    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("name", name="uq_webhooks_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    #: match patterns: a kind, a dotted prefix, `kind=status`, or `*`
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: json | slack
    format: Mapped[str] = mapped_column(String(16), nullable=False, default="json")
    #: the HMAC key of `X-MLOps-Signature`; never shown once stored
    secret: Mapped[str | None] = mapped_column(String(256), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_event_id: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: consecutive failed posts (0 after a success)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)


class DeliveryRow(Base):
    """One attempt to post one event (or a test) to one webhook."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"),
                                            nullable=False)
    #: None for a test send (`notify.test` is not an event of the log)
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: the deliverer that posted (which server, with several on one database)
    holder: Mapped[str | None] = mapped_column(String(256), nullable=True)
