"""`%monitor` and `%alerts`: the notebook surface of drift monitors.

    %monitor churn-api --window 1h --on-drift retrain.pipeline.yaml   create or update
    %monitor churn-api --reference churn@training --schedule "*/5 * * * *" --min-rows 200
    %monitor                              every monitor with its last check
    %monitor check churn-api-drift        check now
    %monitor history churn-api-drift      its checks, newest first
    %monitor pause|resume|delete NAME
    %monitor mute NAME 2h                 no alerts for two hours (`off` unmutes)
    %alerts                               open and acknowledged alerts
    %alerts --status all --monitor NAME
    %alerts ack 3 retraining started      acknowledge alert 3 with a note

Thin over `jupyter_mlops.core.monitor`; errors a user can fix are one-line
UsageErrors. Registered by `magics.register` through `register_monitor_magics`.
"""

from __future__ import annotations

import argparse
import html
import shlex
from typing import Any

from IPython.core.error import UsageError

from .core.errors import MLOpsError

MONITOR_USAGE = ("%monitor [DEPLOYMENT [--name N] [--reference name@version] [--schedule CRON] "
                 "[--window 1h|500] [--columns a,b] [--threshold psi=0.2] [--test col=psi] "
                 "[--drift-share F] [--on-drift FILE] [--min-rows N] [--cooldown 1h]] | "
                 "check|history|pause|resume|delete NAME | mute NAME UNTIL|off")
ALERTS_USAGE = ("%alerts [--status open|acknowledged|resolved|active|all] [--monitor NAME] "
                "[--limit N] | ack ID [note…]")
_ACTIONS = ("check", "history", "pause", "resume", "delete", "mute")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\nUsage: {self.usage}")


def _monitor_parser() -> _Parser:
    parser = _Parser(prog="%monitor", usage=MONITOR_USAGE, add_help=False)
    parser.add_argument("deployment")
    parser.add_argument("--name", "-n")
    parser.add_argument("--reference", "-r")
    parser.add_argument("--schedule", default="*/10 * * * *")
    parser.add_argument("--window", "-w", default="1h")
    parser.add_argument("--columns")
    parser.add_argument("--threshold", action="append", default=[])
    parser.add_argument("--test", action="append", default=[])
    parser.add_argument("--drift-share", type=float, default=0.5)
    parser.add_argument("--on-drift")
    parser.add_argument("--min-rows", type=int, default=100)
    parser.add_argument("--cooldown", default="1h")
    return parser


def _pairs(items: list[str], what: str, number: bool) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--{what} takes key=value, got {item!r}.")
        if number:
            try:
                out[key] = float(value)
            except ValueError:
                raise UsageError(f"--{what} {item!r}: {value!r} is not a number.") from None
        else:
            out[key] = value
    return out or None


class Table:
    """What `%monitor` and `%alerts` return: a table in a cell, a list in code."""

    def __init__(self, items: list[Any], columns: list[tuple[str, str]], empty: str) -> None:
        self.items = items
        self.columns = columns
        self.empty = empty
        self._rows = [[_cell(item, key) for key, _ in columns] for item in items]

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def __repr__(self) -> str:
        if not self.items:
            return self.empty
        widths = [max(len(title), *(len(r[i]) for r in self._rows))
                  for i, (_, title) in enumerate(self.columns)]
        head = "  ".join(t.ljust(w) for (_, t), w in zip(self.columns, widths))
        return "\n".join([head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths))
                                   for r in self._rows])

    def _repr_html_(self) -> str:
        if not self.items:
            return f"<p>{html.escape(self.empty)}</p>"
        head = "".join(f"<th>{html.escape(t)}</th>" for _, t in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self._rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(item: Any, key: str) -> str:
    value = getattr(item, key, None)
    if key == "last_check":
        return "never" if value is None else (
            value.status + (f" ({value.share:.0%})" if value.share is not None else ""))
    if key == "share" and value is not None:
        return f"{value:.0%}"
    if key == "drifted_columns":
        return ", ".join(value or []) or "—"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "—" if value is None else str(value)


MONITOR_COLUMNS = [("name", "monitor"), ("deployment", "deployment"), ("schedule", "schedule"),
                   ("window", "window"), ("last_check", "last check"),
                   ("next_check_at", "next check (UTC)"), ("paused", "paused")]
CHECK_COLUMNS = [("id", "check"), ("ts", "time (UTC)"), ("status", "status"), ("rows", "rows"),
                 ("share", "drifted share"), ("drifted_columns", "drifted columns"),
                 ("alert_id", "alert"), ("message", "note")]
ALERT_COLUMNS = [("id", "alert"), ("created", "raised (UTC)"), ("status", "status"),
                 ("monitor", "monitor"), ("title", "title"), ("occurrences", "checks"),
                 ("trigger_id", "trigger")]


def _action(action: str, args: list[str]) -> Any:
    from .core.monitor import get_monitor
    from .core.monitor.alerting import mute

    if not args:
        raise UsageError(f"%monitor {action} needs a monitor's name.\nUsage: {MONITOR_USAGE}")
    name = args[0]
    if action == "mute":
        if len(args) != 2:
            raise UsageError("Usage: %monitor mute NAME UNTIL (a duration like 2h, an ISO time, "
                             "or off)")
        return mute(name, None if args[1].lower() in ("off", "none") else args[1])
    if len(args) > 1:
        raise UsageError(f"Usage: %monitor {action} NAME")
    found = get_monitor(name)
    if action == "check":
        return found.check()
    if action == "history":
        return Table(found.history(), CHECK_COLUMNS, f"Monitor {name} was never checked.")
    if action == "pause":
        return found.pause()
    if action == "resume":
        return found.resume()
    found.delete()
    return None


def monitor_magic(line: str) -> Any:
    """%monitor — create or update a monitor, act on one, or list them (see the module doc)."""
    from .core.monitor import monitor, monitors

    try:
        args = shlex.split(line)
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"{exc}\nUsage: {MONITOR_USAGE}") from None
    try:
        if not args:
            return Table(monitors(), MONITOR_COLUMNS, "No monitors yet: %monitor DEPLOYMENT.")
        if args[0] in _ACTIONS:
            return _action(args[0], args[1:])
        opts = _monitor_parser().parse_args(args)
        window: Any = int(opts.window) if opts.window.isdigit() else opts.window
        return monitor(opts.deployment, reference=opts.reference, schedule=opts.schedule,
                       window=window, columns=opts.columns.split(",") if opts.columns else None,
                       thresholds=_pairs(opts.threshold, "threshold", True),
                       on_drift=opts.on_drift, min_rows=opts.min_rows, cooldown=opts.cooldown,
                       name=opts.name, tests=_pairs(opts.test, "test", False),
                       drift_share=opts.drift_share)
    except MLOpsError as exc:
        raise UsageError(exc.message) from None


def alerts_magic(line: str) -> Any:
    """%alerts — list alerts, or `%alerts ack ID [note…]` to acknowledge one."""
    from .core.monitor import acknowledge, alerts

    try:
        args = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"{exc}\nUsage: {ALERTS_USAGE}") from None
    try:
        if args and args[0] in ("ack", "acknowledge"):
            if len(args) < 2 or not args[1].isdigit():
                raise UsageError("Usage: %alerts ack ID [note…]")
            return acknowledge(int(args[1]), " ".join(args[2:]) or None)
        parser = _Parser(prog="%alerts", usage=ALERTS_USAGE, add_help=False)
        parser.add_argument("--status", "-s", default="active")
        parser.add_argument("--monitor", "-m")
        parser.add_argument("--limit", type=int, default=50)
        opts = parser.parse_args(args)
        status = None if opts.status == "all" else opts.status
        found = alerts(status, monitor=opts.monitor, limit=opts.limit)
        return Table(found, ALERT_COLUMNS, "No alerts." if status is None
                     else f"No {opts.status} alerts.")
    except MLOpsError as exc:
        raise UsageError(exc.message) from None


def register_monitor_magics(ipython: Any) -> None:
    """Register `%monitor` and `%alerts` (called from `magics.register`)."""
    ipython.register_magic_function(monitor_magic, "line", "monitor")
    ipython.register_magic_function(alerts_magic, "line", "alerts")
