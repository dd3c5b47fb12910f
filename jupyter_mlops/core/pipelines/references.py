"""References in step parameters: `${params.NAME}` and `${steps.STEP.outputs.NAME}`.

Found (to order steps and check names) when a spec is loaded; resolved into
the values papermill injects when a step is about to run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .spec_models import REF_RE

if TYPE_CHECKING:
    from .spec_models import PipelineSpec, StepSpec


def iter_references(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        for match in REF_RE.finditer(value):
            yield match.group(1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_references(item)


def parse_reference(ref: str) -> tuple[str, ...]:
    """('params', name) or ('steps', step, name); ValueError with the accepted forms."""
    parts = ref.split(".")
    if len(parts) == 2 and parts[0] == "params" and parts[1]:
        return ("params", parts[1])
    if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs" and parts[1] and parts[3]:
        return ("steps", parts[1], parts[3])
    raise ValueError(f"reference ${{{ref}}} is not understood; use ${{params.NAME}} or "
                     f"${{steps.STEP.outputs.NAME}}")


def step_references(step: StepSpec) -> list[tuple[str, tuple[str, ...]]]:
    """(parameter, parsed reference) for every reference in a step's parameters."""
    out = []
    for pname, value in step.parameters.items():
        for ref in iter_references(value):
            out.append((pname, parse_reference(ref)))
    return out


class _Missing(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def resolve_value(value: Any, params: Mapping[str, Any],
                  outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    """Substitute references; a value that is exactly one reference keeps its type."""
    if isinstance(value, str):
        whole = REF_RE.fullmatch(value.strip())
        if whole and value.strip() == value:
            return _lookup(parse_reference(whole.group(1)), params, outputs)

        def sub(match: re.Match[str]) -> str:
            found = _lookup(parse_reference(match.group(1)), params, outputs)
            return found if isinstance(found, str) else json.dumps(found)

        return REF_RE.sub(sub, value).replace("$${", "${")
    if isinstance(value, dict):
        return {k: resolve_value(v, params, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, params, outputs) for v in value]
    return value


def _lookup(ref: tuple[str, ...], params: Mapping[str, Any],
            outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    if ref[0] == "params":
        if ref[1] not in params:
            raise _Missing(f"params.{ref[1]}")
        return params[ref[1]]
    step_outputs = outputs.get(ref[1]) or {}
    if ref[2] not in step_outputs:
        known = ", ".join(sorted(step_outputs)) or "none"
        raise _Missing(f"steps.{ref[1]}.outputs.{ref[2]} (step {ref[1]!r} recorded: {known})")
    return step_outputs[ref[2]]


def resolve_step_parameters(spec: PipelineSpec, step: StepSpec, params: Mapping[str, Any],
                            outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters papermill injects into a step; InvalidInput names a missing output."""
    out: dict[str, Any] = {}
    for name, value in step.parameters.items():
        try:
            out[name] = resolve_value(value, params, outputs)
        except _Missing as missing:
            if spec.origin == "notebook" and missing.what.startswith("params."):
                continue  # not given: the notebook keeps its own default
            raise InvalidInput(f"Step {step.name!r} parameter {name!r}: no value for "
                               f"${{{missing.what.split(' ')[0]}}}: "
                               f"{missing.what}.") from None
    return out
