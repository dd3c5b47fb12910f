"""A notebook as a one-step pipeline: "parameterize this notebook" needs no file.

Its parameters (names, types, defaults) come from its `parameters` cell,
read with papermill's own translators (what `papermill.inspect_notebook`
uses), so the Run form and the CLI know them.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..workspace import Workspace
from .spec_models import ParameterSpec, PipelineSpec, StepSpec
from .values import check_type, infer_type


def _literal(text: str | None) -> tuple[bool, Any]:
    if text is None:
        return False, None
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


_PM_TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list",
             "dict": "dict"}


def notebook_parameters(path: Path, kernel: str | None = None) -> dict[str, ParameterSpec]:
    """The notebook's `parameters` cell as pipeline parameters (papermill's translators)."""
    import nbformat
    from papermill.translators import papermill_translators

    from .step_runner import kernel_language, kernel_name_of

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise InvalidInput(f"{path.name}: cannot read the notebook: {exc}") from None
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])),
                None)
    if cell is None:
        return {}
    name = kernel_name_of(path, kernel)
    language = (nb.metadata.get("kernelspec") or {}).get("language") \
        or (nb.metadata.get("language_info") or {}).get("name") or kernel_language(name) \
        or "python"
    try:
        found = {p.name: p._asdict() for p in
                 papermill_translators.find_translator(name, language).inspect(cell)}
    except Exception:  # a language papermill cannot introspect: parameters unknown
        found = {}
    params: dict[str, ParameterSpec] = {}
    for name, info in found.items():
        type_ = _PM_TYPES.get(str(info.get("inferred_type_name", "")).strip())
        ok, default = _literal(info.get("default"))
        fields: dict[str, Any] = {"type": type_, "description": info.get("help") or ""}
        if ok:
            try:
                fields["default"] = check_type(name, type_, default) if type_ else default
                if type_ is None:
                    fields["type"] = infer_type(default)
                json.dumps(fields["default"])
            except (ValueError, TypeError):
                fields.pop("default", None)
        params[name] = ParameterSpec.model_construct(**fields, _fields_set=set(fields))
    return params


def notebook_pipeline(path: Path, workspace: Workspace) -> PipelineSpec:
    """"Parameterize this notebook": a one-step pipeline, parameters from its `parameters` cell."""
    rel = workspace.relpath(path)
    params = notebook_parameters(path)
    step_name = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("-") or "notebook"
    if not re.match(r"[A-Za-z_]", step_name):
        step_name = f"_{step_name}"
    step = StepSpec(name=step_name[:64], notebook=rel,
                    parameters={name: f"${{params.{name}}}" for name in params})
    spec = PipelineSpec.model_construct(
        name=path.stem, description=f"Notebook {rel} as a one-step pipeline",
        parameters=params, steps=[step], schedule=None, triggers=[], concurrency="forbid")
    spec._key = rel
    spec._source = path
    spec._origin = "notebook"
    return spec
