"""Named leases in the state DB: one holder at a time acts for all servers on a database.

The pipeline scheduler (`scheduler`) and the webhook notifier (`notifier`) each
take one. Taking is a compare-and-set (ours, or expired), so two servers
asking at once cannot both win; a holder that dies simply lets it expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from .db.models import utcnow
from .db.pipeline_models import LeaseRow
from .workspace import Workspace


def acquire_lease(ws: Workspace, name: str, holder: str, ttl: float,
                  now: datetime | None = None) -> bool:
    """Take or renew lease `name` for `ttl` seconds: it is ours, expired, or not there yet."""
    now = now or utcnow()
    expires = now + timedelta(seconds=ttl)
    with ws.session() as session:
        changed = session.execute(update(LeaseRow).where(
            LeaseRow.name == name,
            or_(LeaseRow.holder == holder, LeaseRow.expires < now)).values(
            holder=holder, expires=expires)).rowcount
        if changed:
            return True
        if session.get(LeaseRow, name) is not None:
            return False
        try:
            with session.begin_nested():
                session.add(LeaseRow(name=name, holder=holder, acquired=now, expires=expires))
            return True
        except IntegrityError:
            return False


def release_lease(ws: Workspace, name: str, holder: str) -> None:
    """Let another holder take lease `name` now (only if we hold it)."""
    with ws.session() as session:
        session.execute(update(LeaseRow).where(
            LeaseRow.name == name, LeaseRow.holder == holder).values(
            expires=utcnow() - timedelta(seconds=1)))
