"""Apply Alembic migrations on first use, safely from several processes.

The server, a kernel and a pipeline step may all open a new workspace at the
same moment; for SQLite an exclusive file lock in `.mlops/` serialises the
upgrade, and the migrations themselves are idempotent to the revision table.
Servers of a team share a PostgreSQL state DB from different machines, where
no file lock reaches: there a transaction-scoped advisory lock serialises the
upgrade, and the second server finds the schema at head when it gets the lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ..errors import BackendUnavailable
from ..locks import migration_lock

SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))
#: the advisory lock id of migrations on PostgreSQL (any constant shared by every server)
PG_MIGRATE_LOCK = 0x6D6C6F7073  # "mlops"


def _server_lock(conn: Connection) -> None:
    """Hold a DB-side lock until this transaction ends, where the DB offers one."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATE_LOCK})


def alembic_config() -> Config:
    """A config built in code: no alembic.ini to ship or to find."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revisions() -> set[str]:
    """Capabilities branch their migrations from a common base, so there may be several heads."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def head_revision() -> str:
    """The single head, for tests and messages; joined with '+' when branches are open."""
    return "+".join(sorted(head_revisions()))


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    revisions = current_revisions(engine)
    return "+".join(sorted(revisions)) if revisions else None


def _file_lock(lock_dir: Path | None) -> Any:
    return migration_lock(lock_dir / ".migrate.lock" if lock_dir is not None else None)


def upgrade(engine: Engine, revision: str = "heads", lock_dir: Path | None = None) -> None:
    """Bring the schema to `revision`; used by tests to build older schemas too."""
    cfg = alembic_config()
    with _file_lock(lock_dir):
        try:
            with engine.begin() as conn:
                _server_lock(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except Exception as exc:
            raise BackendUnavailable(
                f"Cannot migrate the state database {engine.url!r}: {exc}"
            ) from exc


def upgrade_to_head(engine: Engine, lock_dir: Path | None = None) -> None:
    """Check and migrate under the lock: a brand-new SQLite file switches to WAL and gets
    its tables on first connect, which two processes must not do at once."""
    with _file_lock(lock_dir):
        try:
            if current_revisions(engine) == head_revisions():
                return
        except Exception as exc:
            raise BackendUnavailable(
                f"Cannot open the state database {engine.url!r}: {exc}") from exc
        upgrade(engine, "heads", None)
