"""Plain-text renderings shared by the CLI and the magics (one wording for both)."""

from __future__ import annotations

from collections.abc import Mapping
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
