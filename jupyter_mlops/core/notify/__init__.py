"""Notifications: webhooks that hear about the workspace's activity log.

`hooks` stores webhooks (which events, where, in which format, signed or not)
and their delivery log; `deliver` reads the `events` table as an outbox and
posts what each webhook asked for, exactly once with several servers on one
database; `payload` is what is posted. Nothing is sent from the process that
records an event.
"""

from .deliver import Notifier, deliver_pending
from .hooks import (
    Delivery,
    Webhook,
    add_webhook,
    event_matches,
    get_webhook,
    list_deliveries,
    list_webhooks,
    remove_webhook,
    test_webhook,
    update_webhook,
)

__all__ = [
    "Delivery", "Notifier", "Webhook", "add_webhook", "deliver_pending", "event_matches",
    "get_webhook", "list_deliveries", "list_webhooks", "remove_webhook", "test_webhook",
    "update_webhook",
]
