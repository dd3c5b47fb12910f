"""`output(name, value)`: what a step notebook hands to the steps after it.

The runner gives each step a file path in `JUPYTER_MLOPS_STEP_OUTPUTS`; every
call rewrites that JSON file atomically, so a step killed half-way leaves the
outputs it recorded so far, never a torn file. Downstream steps receive the
values as papermill parameters (`${steps.prepare.outputs.rows}`).

Run interactively (no runner), `output()` keeps the value in this process
(`recorded_outputs()`), so the same notebook works in both places.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

ENV_STEP_OUTPUTS = "JUPYTER_MLOPS_STEP_OUTPUTS"
MAX_OUTPUT_BYTES = 1_000_000  # outputs are parameters, not data: snapshot data instead
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

_local: dict[str, Any] = {}


def _plain(value: Any, name: str) -> Any:
    """JSON-ready: numpy and pandas scalars/arrays become Python values."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"Output {name!r} is {value!r}: JSON (and papermill parameters) "
                               f"cannot carry NaN or infinity.")
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    for attr in ("item", "tolist"):  # numpy scalars (item), arrays and pandas Series (tolist)
        convert = getattr(value, attr, None)
        if callable(convert):
            try:
                return _plain(convert(), name)
            except (TypeError, ValueError):
                continue
    raise InvalidInput(f"Output {name!r} must be JSON-serialisable (a number, string, bool, "
                       f"list or dict), got {type(value).__name__}. Snapshot data with "
                       f"jupyter_mlops.snapshot() and pass its name or version instead.")


def outputs_path() -> Path | None:
    """The file this step's outputs go to, when running inside a pipeline step."""
    raw = os.environ.get(ENV_STEP_OUTPUTS)
    return Path(raw) if raw else None


def read_outputs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The outputs a step recorded ({} when it recorded none)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = json.loads(text) if text.strip() else {}
    return data if isinstance(data, dict) else {}


def output(name: str, value: Any) -> Any:
    """Record a step output (`jupyter_mlops.output("rows", len(df))`); returns `value`."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(f"An output name is a Python identifier (it becomes a parameter "
                           f"downstream), got {name!r}.")
    plain = _plain(value, name)
    encoded = json.dumps(plain)
    if len(encoded) > MAX_OUTPUT_BYTES:
        raise InvalidInput(f"Output {name!r} is {len(encoded):,} bytes of JSON; outputs are "
                           f"parameters (limit {MAX_OUTPUT_BYTES:,}). Snapshot large data "
                           f"with jupyter_mlops.snapshot() and pass its name instead.")
    _local[name] = plain
    path = outputs_path()
    if path is not None:
        current = read_outputs(path)
        current[name] = plain
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".outputs-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(current, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return value


def recorded_outputs() -> dict[str, Any]:
    """What `output()` recorded in this process (a copy)."""
    return dict(_local)
