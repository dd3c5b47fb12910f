"""Engine creation with the SQLite settings a shared workspace needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from ..errors import BackendUnavailable

#: how long a writer waits for another process's lock before failing (ms)
SQLITE_BUSY_TIMEOUT_MS = 15_000


def create_state_engine(url: str) -> Engine:
    """WAL lets the server read while a kernel or pipeline step writes."""
    try:
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    except Exception as exc:  # bad driver, malformed URL
        raise BackendUnavailable(f"Cannot open the state database {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # the busy timeout first, so that every later statement waits for other writers
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
