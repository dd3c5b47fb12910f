"""The pipeline spec: a YAML file (`train.pipeline.yaml`), or a bare notebook.

```yaml
name: train
parameters:
  epochs: {type: int, default: 10}
steps:
  - name: prepare
    notebook: prepare.ipynb
  - name: train
    notebook: train.ipynb
    parameters:
      epochs: ${params.epochs}
      rows: ${steps.prepare.outputs.rows}     # implies depends_on: [prepare]
schedule: {cron: "0 3 * * *", timezone: Europe/Paris, catch_up: latest}
triggers:
  - dataset_snapshot: sales
concurrency: forbid
```

Every error names the file, the line and the reason (YAML syntax, schema,
unknown step, cycle, missing notebook, bad cron), so an editor, the CLI and
the panel can point at it. The JSON schema of this model is committed as
`jupyter_mlops/core/pipelines/pipeline.schema.json` (not under schema/: JupyterLab would take it for a settings schema) (`python -m jupyter_mlops.core.pipelines.spec
--write-schema` regenerates it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InvalidInput, NotFound
from ..workspace import Workspace
from .notebooks import notebook_parameters, notebook_pipeline
from .references import (
    iter_references,
    parse_reference,
    resolve_step_parameters,
    resolve_value,
    step_references,
)
from .spec_errors import (
    MAX_LISTED_ERRORS,
    _check_duplicate_keys,
    _format_loc,
    _pydantic_error,
    line_of,
    spec_error,
)
from .spec_models import (
    PARAM_NAME_RE,
    REF_RE,
    SCHEMA_ID,
    SPEC_SUFFIXES,
    STEP_NAME_RE,
    TRIGGER_KINDS,
    ParameterSpec,
    ParamType,
    PipelineSpec,
    Resources,
    ScheduleSpec,
    StepSpec,
    TriggerSpec,
)
from .values import (
    PARAM_TYPES,
    check_cron,
    check_type,
    infer_type,
    parse_cli_parameters,
    zone_of,
)

__all__ = [
    "MAX_LISTED_ERRORS",
    "PARAM_NAME_RE",
    "PARAM_TYPES",
    "REF_RE",
    "SCHEMA_ID",
    "SPEC_SUFFIXES",
    "STEP_NAME_RE",
    "TRIGGER_KINDS",
    "ParamType",
    "ParameterSpec",
    "PipelineSpec",
    "Resources",
    "ScheduleSpec",
    "StepSpec",
    "TriggerSpec",
    "_check_duplicate_keys",
    "_format_loc",
    "_pydantic_error",
    "build_spec",
    "check_cron",
    "check_notebook_paths",
    "check_semantics",
    "check_type",
    "default_schema_path",
    "infer_type",
    "is_spec_file",
    "iter_references",
    "json_schema",
    "line_of",
    "load_spec",
    "notebook_parameters",
    "notebook_pipeline",
    "parse_cli_parameters",
    "parse_reference",
    "parse_spec_text",
    "resolve_run_parameters",
    "resolve_step_parameters",
    "resolve_value",
    "schema_text",
    "spec_error",
    "step_references",
    "utc_now",
    "zone_of",
]


def parse_spec_text(text: str, source: Path | None = None) -> PipelineSpec:
    """Parse YAML text into a validated spec (semantics checked, notebooks not looked up)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise spec_error(source, line, f"YAML syntax error: {reason}") from None
    except yaml.YAMLError as exc:
        raise spec_error(source, None, f"YAML syntax error: {exc}") from None
    if root is None:
        raise spec_error(source, None, "the file is empty; a pipeline needs at least 'steps'")
    _check_duplicate_keys(root, source)
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise spec_error(source, mark.line + 1 if mark else None,
                         f"YAML error: {getattr(exc, 'problem', exc)}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise spec_error(source, root.start_mark.line + 1,
                         f"a pipeline spec is a mapping (name, steps, …), "
                         f"got {type(data).__name__}")
    return build_spec(data, source=source, root_node=root)


def build_spec(data: Mapping[str, Any], *, source: Path | None = None, root_node: Any = None,
               key: str | None = None) -> PipelineSpec:
    """Validate a dict (from YAML, REST or code) into a spec, with semantic checks."""
    try:
        spec = PipelineSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _pydantic_error(exc, source, root_node) from None
    spec._source = source
    spec._root_node = root_node
    spec._key = key
    if spec.name is None:
        spec.name = _name_from_path(source) if source is not None else "pipeline"
    check_semantics(spec)
    return spec


def _name_from_path(path: Path) -> str:
    name = path.name
    for suffix in (*SPEC_SUFFIXES, ".yaml", ".yml", ".ipynb"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or path.stem
    return path.stem


def check_semantics(spec: PipelineSpec) -> None:
    """Unique step names, known dependencies and references, no cycle."""
    from .graph import build_graph

    names: dict[str, int] = {}
    for index, step in enumerate(spec.steps):
        if step.name in names:
            raise spec.error(f"duplicate step name {step.name!r} (also step "
                             f"{names[step.name] + 1})", "steps", index, "name")
        names[step.name] = index
    known_params = sorted(spec.parameters)
    for index, step in enumerate(spec.steps):
        for pos, dep in enumerate(step.depends_on):
            if dep not in names:
                raise spec.error(f"step {step.name!r} depends on unknown step {dep!r}; "
                                 f"steps: {', '.join(names)}",
                                 "steps", index, "depends_on", pos)
            if dep == step.name:
                raise spec.error(f"step {step.name!r} depends on itself",
                                 "steps", index, "depends_on", pos)
        for pname, value in step.parameters.items():
            for ref in iter_references(value):
                try:
                    parsed = parse_reference(ref)
                except ValueError as exc:
                    raise spec.error(str(exc), "steps", index, "parameters", pname) from None
                if parsed[0] == "params" and parsed[1] not in spec.parameters:
                    raise spec.error(
                        f"step {step.name!r} parameter {pname!r} refers to unknown pipeline "
                        f"parameter {parsed[1]!r}; known: {', '.join(known_params) or 'none'}",
                        "steps", index, "parameters", pname)
                if parsed[0] == "steps":
                    if parsed[1] not in names:
                        raise spec.error(
                            f"step {step.name!r} parameter {pname!r} refers to outputs of "
                            f"unknown step {parsed[1]!r}; steps: {', '.join(names)}",
                            "steps", index, "parameters", pname)
                    if parsed[1] == step.name:
                        raise spec.error(f"step {step.name!r} parameter {pname!r} refers to "
                                         f"its own outputs", "steps", index, "parameters", pname)
    build_graph(spec)  # raises on a cycle, naming it


# -- loading ---------------------------------------------------------------------------------
def is_spec_file(path: str | os.PathLike[str]) -> bool:
    name = os.fspath(path)
    return name.endswith(SPEC_SUFFIXES) or name.endswith((".yaml", ".yml"))


def load_spec(source: str | os.PathLike[str] | PipelineSpec | Mapping[str, Any],
              workspace: Workspace, *, check_notebooks: bool = True) -> PipelineSpec:
    """A validated spec from a spec file, a notebook (one-step pipeline), a dict or a spec.

    Paths are confined to the workspace root; notebooks must exist there.
    """
    if isinstance(source, PipelineSpec):
        spec = source
    elif isinstance(source, Mapping):
        spec = build_spec(source)
    else:
        path = workspace.resolve_path(source)
        if not path.exists():
            raise NotFound(f"{source}: no such file in the workspace {workspace.root}.",
                           details={"path": os.fspath(source)})
        if path.is_dir():
            raise InvalidInput(f"{source} is a folder; give a .pipeline.yaml file or a notebook.")
        if path.suffix == ".ipynb":
            spec = notebook_pipeline(path, workspace)
        elif is_spec_file(path):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise spec_error(path, None, f"not UTF-8 text: {exc}") from None
            spec = parse_spec_text(text, source=path)
            spec._key = workspace.relpath(path)
        else:
            raise InvalidInput(f"{source} is neither a pipeline spec (.pipeline.yaml) nor a "
                               f"notebook (.ipynb).")
    if check_notebooks:
        check_notebook_paths(spec, workspace)
    return spec


def check_notebook_paths(spec: PipelineSpec, workspace: Workspace) -> dict[str, Path]:
    """Each step's notebook, resolved inside the workspace; refuses outside or missing ones."""
    from ..errors import OutsideWorkspace

    base = workspace.root  # notebook paths are relative to the root, not to the spec file
    out: dict[str, Path] = {}
    for index, step in enumerate(spec.steps):
        try:
            path = workspace.resolve_path(step.notebook)
        except OutsideWorkspace:
            raise spec.error(f"step {step.name!r}: notebook {step.notebook!r} is outside the "
                             f"workspace root {base}", "steps", index, "notebook") from None
        if not path.is_file():
            raise spec.error(f"step {step.name!r}: notebook {step.notebook!r} not found in the "
                             f"workspace {base}", "steps", index, "notebook")
        out[step.name] = path
    return out


def resolve_run_parameters(spec: PipelineSpec, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Typed run parameters: the given ones checked, defaults filled in.

    A notebook pipeline passes on only what was given (the notebook keeps its
    own defaults, which may be expressions no spec can hold).
    """
    given = dict(given or {})
    known = sorted(spec.parameters)
    unknown = sorted(set(given) - set(known))
    if unknown:
        what = "parameter" if len(unknown) == 1 else "parameters"
        hint = (" (the notebook has no cell tagged 'parameters')"
                if spec.origin == "notebook" and not known else "")
        raise InvalidInput(
            f"Unknown {what} {', '.join(repr(u) for u in unknown)} for pipeline "
            f"{spec.name!r}; known parameters: {', '.join(known) or 'none'}{hint}.",
            details={"unknown": unknown, "known": known})
    out: dict[str, Any] = {}
    for name, pspec in spec.parameters.items():
        if name in given:
            try:
                out[name] = check_type(name, pspec.type, given[name])
            except ValueError as exc:
                raise InvalidInput(f"Parameter {exc}.", details={"parameter": name}) from None
        elif spec.origin == "notebook":
            continue
        elif pspec.required:
            raise InvalidInput(f"Parameter {name!r} of pipeline {spec.name!r} has no default; "
                               f"give it a value (-p {name}=…).", details={"parameter": name})
        else:
            out[name] = pspec.default
    return out


# -- JSON schema -----------------------------------------------------------------------------
def json_schema() -> dict[str, Any]:
    """The JSON schema editors validate `*.pipeline.yaml` files with."""
    schema = PipelineSpec.model_json_schema()
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID}
    out.update(schema)
    return out


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


def default_schema_path() -> Path:
    return Path(__file__).resolve().parent / "pipeline.schema.json"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


if __name__ == "__main__":  # pragma: no cover - developer tool
    import sys

    if "--write-schema" in sys.argv:
        target = default_schema_path()
        target.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {target}")
    else:
        sys.stdout.write(schema_text())
