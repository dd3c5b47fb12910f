"""Spec errors that name the file, the line and the reason.

The YAML node tree is kept while a spec is parsed, so a pydantic location
(`steps[1].depends_on[0]`) is followed back to the line the user wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InvalidInput

MAX_LISTED_ERRORS = 5


def line_of(node: Any, loc: Iterable[Any]) -> int | None:
    """Follow a pydantic-style location through the YAML node tree to a line number.

    The line of the last key found (or sequence item) is reported: for a bad value
    that is the line where the user wrote it, for a missing field its parent's.
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            # else: a pydantic tag (a union member's name), not a key: skip it
        elif isinstance(node, yaml.SequenceNode):
            if isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
        else:
            break
    return line


def spec_error(source: Path | None, line: int | None, reason: str,
               **details: Any) -> InvalidInput:
    where = str(source) if source is not None else "pipeline spec"
    prefix = f"{where}:{line}" if line else where
    return InvalidInput(f"{prefix}: {reason}",
                        details={"file": str(source) if source else None, "line": line,
                                 "reason": reason, **details})


def _check_duplicate_keys(node: Any, source: Path | None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise spec_error(source, key_node.start_mark.line + 1,
                                 f"duplicate key {key!r}")
            seen.add(key)
            _check_duplicate_keys(value_node, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, source)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and "[" in part:
            continue  # a pydantic tag such as function-after[...]
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _pydantic_error(exc: ValidationError, source: Path | None, root: Any) -> InvalidInput:
    items = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        kind = err.get("type")
        msg = str(err.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")
        if kind == "extra_forbidden" and loc:
            msg = f"unknown field {loc[-1]!r}"
        elif kind == "missing" and loc:
            msg = f"missing required field {loc[-1]!r}"
        line = line_of(root, loc[:-1] if kind == "missing" else loc)
        items.append({"loc": _format_loc(loc), "line": line, "reason": msg})
    first = items[0]
    reason = f"{first['loc']}: {first['reason']}"
    if len(items) > 1:
        more = "; ".join(f"line {i['line']}: {i['loc']}: {i['reason']}" if i["line"]
                         else f"{i['loc']}: {i['reason']}" for i in items[1:MAX_LISTED_ERRORS])
        extra = len(items) - MAX_LISTED_ERRORS
        reason += f" (also {more}{f'; and {extra} more' if extra > 0 else ''})"
    return spec_error(source, first["line"], reason, errors=items)
