"""Parsing and checking a monitor's settings: windows, durations, cron, thresholds.

Kept free of the database so the REST models, the magics and the core give
the same messages for the same mistakes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from ..db.models import aware
from ..errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def validate_monitor_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"A monitor name is 1 to 128 letters, digits, '.', '_' or '-', "
                           f"starting with a letter or digit; got {name!r}.",
                           details={"name": name})
    return name


def parse_duration(value: Any, what: str = "duration") -> timedelta:
    """`"1h"`, `"30m"`, `"7d"`, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value):
        number, unit = _DURATION.match(value).groups()  # type: ignore[union-attr]
        seconds = float(number) * _UNITS[unit]
    else:
        raise InvalidInput(f"{what}: write a duration like '30m', '1h', '7d' (units s, m, h, "
                           f"d, w) or a number of seconds; got {value!r}.")
    if seconds < 0:
        raise InvalidInput(f"{what} must not be negative, got {value!r}.")
    return timedelta(seconds=seconds)


def normalize_window(window: Any) -> str:
    """The stored form of a window: `"1h"` (time) or `"500"` (the last 500 rows)."""
    if isinstance(window, bool):
        raise InvalidInput(f"window: a duration ('1h') or a number of rows (500), got {window!r}.")
    if isinstance(window, int) or (isinstance(window, str) and window.strip().isdigit()):
        rows = int(window)
        if rows < 1:
            raise InvalidInput(f"window: a number of rows must be positive, got {window!r}.")
        return str(rows)
    if isinstance(window, timedelta):
        window = f"{int(window.total_seconds())}s"
    if not isinstance(window, str) or not _DURATION.match(window):
        raise InvalidInput(f"window: write a duration like '30m', '1h', '7d' or a number of "
                           f"rows like 500; got {window!r}.")
    if parse_duration(window, "window").total_seconds() <= 0:
        raise InvalidInput(f"window {window!r} is empty.")
    return window.strip()


def window_bounds(window: str, now: datetime) -> tuple[int | None, datetime | None]:
    """(rows, since): a row window reads the last N rows up to `now`, a time window `now - d`."""
    if window.isdigit():
        return int(window), None
    return None, now - parse_duration(window, "window")


def check_schedule(schedule: Any) -> str:
    from croniter import croniter

    if not isinstance(schedule, str) or not croniter.is_valid(schedule.strip()):
        raise InvalidInput(f"schedule: {schedule!r} is not a cron expression; write five "
                           "fields like '*/10 * * * *' (every 10 minutes).",
                           details={"schedule": schedule})
    return schedule.strip()


def next_after(schedule: str, after: datetime) -> datetime:
    """The first slot of `schedule` strictly after `after` (UTC)."""
    from croniter import croniter

    return aware(croniter(schedule, aware(after)).get_next(datetime))  # type: ignore[return-value]


def parse_time(value: Any, what: str = "time", now: datetime | None = None) -> datetime | None:
    """A datetime, an ISO string, or a duration from now ('2h' = two hours from now)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, str):
        text = value.strip()
        if _DURATION.match(text):
            return (now or utcnow()) + parse_duration(text, what)
        try:
            return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    if isinstance(value, timedelta):
        return (now or utcnow()) + value
    raise InvalidInput(f"{what}: write a datetime, an ISO time or a duration from now like "
                       f"'2h'; got {value!r}.")


def check_thresholds(thresholds: Any) -> dict[str, float] | None:
    if thresholds is None:
        return None
    if not isinstance(thresholds, dict):
        raise InvalidInput("thresholds is {test or column: threshold}, e.g. {'psi': 0.2}.")
    out = {}
    for key, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidInput(f"thresholds[{key!r}] must be a non-negative number, got "
                               f"{value!r}.")
        out[str(key)] = float(value)
    return out


def check_columns(columns: Any) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise InvalidInput("columns is a non-empty list of column names (or None for all).")
    return [str(c) for c in columns]
