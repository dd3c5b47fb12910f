"""Column blocks several capabilities' tables share.

A mixin's columns come after the table's own columns, so a table whose block is its last
columns keeps the same columns in the same order: the migrations that created these tables
stay as they are. Use a mixin only where that holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import utcnow


class CreatedUpdatedByMixin:
    """When a user-managed row was created and last changed, and who changed it."""

    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              nullable=False)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
