"""Who is acting, as every capability records it (runs, events, alias moves)."""

from __future__ import annotations

import getpass
import os


def current_actor() -> str:
    """The JupyterHub user when there is one (the OS user is shared there), else the OS user."""
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"
