"""Plain-text renderings shared by the CLI and the magics (one wording for both)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def key_values(title: str, values: Mapping[str, Any]) -> str:
    width = max((len(k) for k in values), default=0)
    lines = [title] + [f"  {k.ljust(width)}  {v}" for k, v in values.items()]
    return "\n".join(lines)


def health_lines(components: Mapping[str, Any]) -> str:
    lines = []
    for name, status in components.items():
        mark = "ok  " if status.ok else "FAIL"
        lines.append(f"  [{mark}] {name:<9} {status.detail} ({status.latency_ms:.0f} ms)")
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
               right: Iterable[str] = (), indent: str = "", rule: bool = False) -> str:
    """The CLI's one table style: columns two spaces apart, readable in a terminal and by
    `grep`/`awk`; columns named in `right` (numbers) are right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    righties = set(right)

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(v.rjust(w) if h in righties else v.ljust(w)
                                  for v, w, h in zip(values, widths, headers)).rstrip()

    lines = [line(headers)]
    if rule:
        lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines + [line(r) for r in cells])


def when(stamp: Any) -> str:
    """A datetime or an ISO time as 'YYYY-MM-DD HH:MM:SS' (UTC, as stored); '-' for none."""
    if stamp is None:
        return "-"
    text = stamp.isoformat() if hasattr(stamp, "isoformat") else str(stamp)
    return text[:19].replace("T", " ")


def finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: a strict parser (jq, a CI script) would choke on them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """`--json` output of every command."""
    print(json.dumps(finite(value), indent=2, default=str))
