"""Who is acting, as every capability records it (runs, events, alias moves, gates).

Inside the Jupyter server a request acts for the user the server's identity
provider named (set per request with `acting_as`, see `server/base.py`), so a
shared server with real logins keeps who moved `@champion` apart. Outside a
request, or when the server only knows an anonymous token holder, the actor
is the JupyterHub user, else the OS user.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_REQUEST_ACTOR: ContextVar[str | None] = ContextVar("mlops_request_actor", default=None)


def current_actor() -> str:
    """The acting request's user, else the JupyterHub user, else the OS user."""
    named = _REQUEST_ACTOR.get()
    if named:
        return named
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Record `name` as the actor of whatever runs inside (None: the default actor)."""
    token = _REQUEST_ACTOR.set(name or None)
    try:
        yield
    finally:
        _REQUEST_ACTOR.reset(token)
