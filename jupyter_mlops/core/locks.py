"""An exclusive lock between processes on one machine (fcntl), for first-use set-up.

A server, its kernels and pipeline steps may open a new workspace at the same
moment; whoever creates a SQLite store first must finish before another opens
it, or both run the same migrations and one fails half-way.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing); None locks nothing."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Alembic keeps its migration context in module globals: two migrations at once in one
#: process (our state DB in the server's start-up thread, MLflow's store in a request)
#: break each other ("KeyError: 'script'") whatever files they lock
_MIGRATIONS = threading.RLock()


@contextmanager
def migration_lock(path: Path | None) -> Iterator[None]:
    """Serialise schema migrations: across threads of this process, then across processes
    through `path` (None: threads only)."""
    with _MIGRATIONS, file_lock(path):
        yield
