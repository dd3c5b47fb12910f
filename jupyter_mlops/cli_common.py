"""What the `*_cli.py` modules share besides `render.py`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from .core.workspace import Workspace


@contextmanager
def open_workspace(args: argparse.Namespace) -> Iterator[Workspace]:
    """The workspace of `-w`, closed after the command (a CLI is short-lived)."""
    ws = Workspace.resolve(getattr(args, "workspace", None))
    try:
        yield ws
    finally:
        ws.close()
