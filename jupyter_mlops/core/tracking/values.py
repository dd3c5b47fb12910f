"""Checks on what a notebook logs, done at the call so the error points at the cell.

A bad metric that reached the buffer would fail a whole batch later, far from
the line that logged it, and (since buffered values are never dropped) fail
every retry after it. The rules mirror MLflow's own validation.
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput

_NAME = re.compile(r"^[/\w.\- :]+$")
_FILE_NAME = re.compile(r"^[\w.\- ]+$")
MAX_KEY_LENGTH = 250


def check_metric_key(key: str) -> None:
    """The names MLflow accepts (it treats them as paths in places)."""
    if not key or len(key) > MAX_KEY_LENGTH or not _NAME.match(key):
        raise InvalidInput(
            f"Invalid metric name {key!r}: use letters, digits, '_', '-', '.', ' ', ':' or '/' "
            f"(at most {MAX_KEY_LENGTH} characters).", details={"metric": key})
    norm = posixpath.normpath(key)
    if norm != key or norm.startswith(("/", "..")) or norm == ".":
        raise InvalidInput(f"Invalid metric name {key!r}: it must not look like a relative path "
                           f"('..', '//', a leading '/').", details={"metric": key})


def as_metric_value(key: str, value: Any) -> float:
    """A float for any real number, NumPy scalar, 0-d array or 1-element tensor.

    Booleans and strings are refused, as MLflow refuses them: a metric is a number.
    """
    if isinstance(value, bool) or isinstance(value, (str, bytes)) or value is None:
        raise InvalidInput(f"Metric {key!r} must be a number, got {type(value).__name__} "
                           f"{value!r:.60}.", details={"metric": key})
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            inner = item()
        except Exception:  # arrays with more than one element
            inner = None
        if isinstance(inner, numbers.Real) and not isinstance(inner, bool):
            return float(inner)
    raise InvalidInput(f"Metric {key!r} must be a number, got {type(value).__name__}.",
                       details={"metric": key})


def as_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidInput(f"A metric step must be an integer, got {step!r}.")
    return int(step)


def check_file_name(name: str, what: str) -> None:
    if not name or not _FILE_NAME.match(name) or name in (".", ".."):
        raise InvalidInput(f"Invalid {what} {name!r}: use letters, digits, '_', '-', '.' or ' '.")


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested dicts as dotted keys; every value as the string MLflow stores."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{full}."))
        else:
            flat[full] = "None" if value is None else str(value)
    return flat


def json_number(value: float | None) -> float | None:
    """NaN and ±inf are not JSON; the panel shows a gap for None."""
    if value is None or not math.isfinite(value):
        return None
    return value
