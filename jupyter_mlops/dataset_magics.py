"""`%snapshot` and `%datasets`: the notebook surface of dataset snapshots.

Thin adapters over `jupyter_mlops.core.datasets`: parse the line, call the
core, and turn the errors a user can fix into IPython's one-line UsageError.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.error import UsageError

from .core import datasets as core
from .core.datasets.render import human_bytes, versions_table_html
from .core.errors import MLOpsError

SNAPSHOT_USAGE = "%snapshot <dataframe|path> <name> [--tag TAG]... [--description TEXT] [--verify]"
DATASETS_USAGE = "%datasets [name]"


class _Parser(argparse.ArgumentParser):
    """argparse that reports instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\nUsage: {self.usage}")


def _snapshot_parser() -> _Parser:
    parser = _Parser(prog="%snapshot", usage=SNAPSHOT_USAGE, add_help=False)
    parser.add_argument("data")
    parser.add_argument("name")
    parser.add_argument("--tag", "-t", action="append", default=[])
    parser.add_argument("--description", "-d", default=None)
    parser.add_argument("--verify", action="store_true")
    return parser


def _user_value(expr: str, namespace: Mapping[str, Any]) -> Any:
    """A variable or expression of the user's namespace, else an existing path."""
    if expr in namespace:
        return namespace[expr]
    try:
        return eval(expr, dict(namespace))  # noqa: S307 - the user's own notebook namespace
    except NameError:
        pass
    except SyntaxError:
        pass
    if os.path.exists(os.path.expanduser(expr)):
        return expr
    raise UsageError(f"{expr!r} is neither a variable of this notebook nor an existing path.")


def _reporting(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MLOpsError as exc:
            raise UsageError(exc.message) from None

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


@_reporting
def snapshot_magic(line: str, namespace: Mapping[str, Any]) -> core.DatasetVersion:
    """`%snapshot df sales --tag baseline`: the returned version renders its profile."""
    args = _snapshot_parser().parse_args(shlex.split(line))
    data = _user_value(args.data, namespace)
    try:
        return core.snapshot(data, args.name, tags=args.tag or None,
                             description=args.description, verify=args.verify)
    except TypeError as exc:
        if "Supported:" not in str(exc):  # a bug, not the user's input: keep the traceback
            raise
        raise UsageError(str(exc)) from None


def _dataset_rows() -> list[dict[str, Any]]:
    return [{"dataset": d.name, "versions": d.versions, "latest": (d.latest or "")[:12],
             "kind": d.latest_kind or "", "rows": d.latest_rows,
             "size": human_bytes(d.latest_bytes), "tags": ", ".join(sorted(d.tags)),
             "updated": d.updated.strftime("%Y-%m-%d %H:%M")} for d in core.list_datasets()]


def _version_rows(name: str) -> list[dict[str, Any]]:
    return [{"version": v.short, "kind": v.kind, "rows": v.rows, "size": human_bytes(v.bytes),
             "tags": ", ".join(v.tags), "created": v.created.strftime("%Y-%m-%d %H:%M:%S"),
             "description": v.description or ""} for v in core.list_versions(name)]


class _Html:
    """Rich output without widgets (a saved notebook keeps it)."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


def datasets_widget() -> Any:
    """A dataset picker over a versions table; plain HTML when ipywidgets is missing."""
    rows = _dataset_rows()
    try:
        import ipywidgets as widgets
    except ImportError:
        return _Html(versions_table_html(rows))
    overview = widgets.HTML(versions_table_html(rows))
    if not rows:
        return overview
    picker = widgets.Dropdown(options=[r["dataset"] for r in rows], description="versions of")
    detail = widgets.HTML(versions_table_html(_version_rows(rows[0]["dataset"])))

    def show(change: dict[str, Any]) -> None:
        detail.value = versions_table_html(_version_rows(change["new"]))

    picker.observe(show, names="value")
    return widgets.VBox([overview, picker, detail])


@_reporting
def datasets_magic(line: str) -> Any:
    """`%datasets` lists datasets with a version browser; `%datasets sales` its versions."""
    args = shlex.split(line)
    if len(args) > 1:
        raise UsageError(f"Usage: {DATASETS_USAGE}")
    if args:
        return _Html(versions_table_html(_version_rows(args[0])))
    return datasets_widget()


def register_dataset_magics(ipython: Any) -> None:
    """Register `%snapshot` and `%datasets` on a shell (called from `magics.register`)."""

    def snapshot(line: str) -> Any:
        return snapshot_magic(line, ipython.user_ns)

    snapshot.__doc__ = snapshot_magic.__doc__
    ipython.register_magic_function(snapshot, "line", "snapshot")
    ipython.register_magic_function(datasets_magic, "line", "datasets")
