"""Parameter values and cron expressions of pipeline specs: types, parsing, checks.

Shared by the spec models (defaults are checked against their type), the
run form and the CLI (`-p epochs=3` is parsed to the declared type) and the
scheduler (a cron expression is refused with the field that is wrong).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import yaml

from ..errors import InvalidInput

PARAM_TYPES = ("int", "float", "str", "bool", "list", "dict")


def infer_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return None


_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def check_type(name: str, type_: str | None, value: Any) -> Any:
    """`value` as `type_` (a string from a form or the CLI is parsed); ValueError says why."""
    if value is None:
        return None
    if isinstance(value, str) and type_ != "str":
        return _parse_string(name, type_, value)
    ok: bool
    if type_ is None:
        ok = True
    elif type_ == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
    elif type_ == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
    elif type_ == "str":
        ok = isinstance(value, str)
    elif type_ == "bool":
        ok = isinstance(value, bool)
    elif type_ == "list":
        ok = isinstance(value, (list, tuple))
        value = list(value) if ok else value
    elif type_ == "dict":
        ok = isinstance(value, dict)
    else:  # pragma: no cover - the Literal prevents it
        ok = False
    if not ok:
        raise ValueError(f"{name} must be {_a(type_)}, got {type(value).__name__} {value!r}"[:300])
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON-serialisable: {exc}") from None
    return value


def _a(type_: str | None) -> str:
    return {"int": "an int", "float": "a float", "str": "a string", "bool": "a bool",
            "list": "a list", "dict": "a dict"}.get(type_ or "", "a value")


def _parse_string(name: str, type_: str | None, text: str) -> Any:
    raw = text.strip()
    try:
        if type_ == "int":
            return int(raw)
        if type_ == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if type_ == "bool":
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        parsed = yaml.safe_load(raw) if raw else ""
    except (ValueError, yaml.YAMLError):
        raise ValueError(f"{name} must be {_a(type_)}, got {text!r}"[:300]) from None
    if type_ is None:
        return parsed if infer_type(parsed) is not None or parsed is None else text
    if type_ == "list" and not isinstance(parsed, list):
        raise ValueError(f"{name} must be a list (e.g. [1, 2]), got {text!r}"[:300])
    if type_ == "dict" and not isinstance(parsed, dict):
        raise ValueError(f"{name} must be a dict (e.g. {{a: 1}}), got {text!r}"[:300])
    return parsed


def parse_cli_parameters(pairs: Iterable[str]) -> dict[str, str]:
    """`["epochs=3", "name=a b"]` → {"epochs": "3", ...}; values are typed later by the spec."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = str(pair).partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"A parameter is given as key=value, got {pair!r}.")
        out[key] = value
    return out


def zone_of(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown timezone {name!r} (use an IANA name such as "
                         f"'UTC' or 'Europe/Paris')") from None


def check_cron(expr: str, tz: str = "UTC") -> None:
    """ValueError saying why `expr` is not a usable cron expression."""
    from croniter import croniter

    text = (expr or "").strip()
    if not text:
        raise ValueError("the cron expression is empty")
    fields = text.split()
    if not text.startswith("@") and len(fields) not in (5, 6):
        raise ValueError(f"cron expression {text!r} has {len(fields)} field(s); expected 5 "
                         f"(minute hour day-of-month month day-of-week) or 6 (… seconds)")
    now = datetime.now(zone_of(tz))
    try:
        croniter(text, now).get_next(datetime)
    except Exception as exc:  # croniter's own error classes (some are ValueErrors)
        reason = str(exc).strip() or type(exc).__name__
        if "failed to find next date" in reason:
            reason = "it never matches a date (e.g. February 30th)"
        elif not text.startswith("@"):
            reason = _cron_field_problem(fields, now) or reason
        raise ValueError(f"invalid cron expression {text!r}: {reason}") from None


_CRON_FIELDS = (("minute", "0-59"), ("hour", "0-23"), ("day of month", "1-31"),
                ("month", "1-12 or jan-dec"), ("day of week", "0-6 or sun-sat"),
                ("second", "0-59"))


def _cron_field_problem(fields: list[str], now: datetime) -> str | None:
    """Which field croniter refuses, tried one at a time with the others as '*'."""
    from croniter import croniter

    for index, value in enumerate(fields):
        probe = ["*"] * len(fields)
        probe[index] = value
        try:
            croniter(" ".join(probe), now).get_next(datetime)
        except Exception:
            name, allowed = _CRON_FIELDS[index]
            return f"field {index + 1} ({name}) {value!r} is not valid; allowed: {allowed}"
    return None
