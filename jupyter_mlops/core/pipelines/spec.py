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

import ast
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InvalidInput, NotFound
from ..workspace import Workspace

PARAM_TYPES = ("int", "float", "str", "bool", "list", "dict")
ParamType = Literal["int", "float", "str", "bool", "list", "dict"]
STEP_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: `${params.x}` or `${steps.prepare.outputs.rows}`; `$${` is a literal `${`
REF_RE = re.compile(r"(?<!\$)\$\{\s*([^}]*?)\s*\}")
SCHEMA_ID = "https://jupyter-mlops.dev/schema/pipeline.schema.json"
SPEC_SUFFIXES = (".pipeline.yaml", ".pipeline.yml")
TRIGGER_KINDS = ("dataset_snapshot", "drift_alert", "model_registered")
MAX_LISTED_ERRORS = 5


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterSpec(_Model):
    """A pipeline parameter: its type, default and a description for the Run form."""

    type: ParamType | None = Field(
        None, description="int, float, str, bool, list or dict; inferred from the default "
                          "when omitted")
    default: Any = Field(None, description="value used when the run does not give one; "
                                           "a parameter without a default is required")
    description: str = ""

    @model_validator(mode="after")
    def _default_matches_type(self) -> ParameterSpec:
        if "default" in self.model_fields_set and self.default is not None:
            if self.type is None:
                self.type = infer_type(self.default)
            self.default = check_type("default", self.type, self.default)
        return self

    @property
    def required(self) -> bool:
        return "default" not in self.model_fields_set


class Resources(_Model):
    """What a step needs; the local executor records it, a Dask executor maps it to workers."""

    cpus: float | None = Field(None, gt=0)
    memory: str | None = Field(None, description="e.g. 2GiB",
                               pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B?$")
    gpus: int | None = Field(None, ge=0)


class StepSpec(_Model):
    """One notebook run with papermill."""

    name: str = Field(description="letters, digits, '_' and '-'; unique in the pipeline")
    notebook: str = Field(description="path of the notebook, relative to the workspace root")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="injected with papermill; a value may be a constant or a reference "
                    "${params.NAME} / ${steps.STEP.outputs.NAME}")
    depends_on: list[str] = Field(default_factory=list)
    retries: int = Field(0, ge=0, le=20)
    timeout: float | None = Field(None, gt=0, description="seconds; the kernel is killed after it")
    kernel: str | None = Field(None, description="kernel name (default: the notebook's own)")
    resources: Resources | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STEP_NAME_RE.match(value):
            raise ValueError(f"step name {value!r} must start with a letter or '_' and use only "
                             f"letters, digits, '_' and '-' (at most 64 characters)")
        return value

    @field_validator("notebook")
    @classmethod
    def _notebook(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the notebook path is empty")
        if not value.endswith(".ipynb"):
            raise ValueError(f"{value!r} is not a notebook (.ipynb)")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not PARAM_NAME_RE.match(str(key)):
                raise ValueError(f"parameter name {key!r} is not a Python identifier")
        return value


class ScheduleSpec(_Model):
    """When the pipeline runs by itself."""

    cron: str = Field(description="5 fields (minute hour day month weekday), a 6th field for "
                                  "seconds, or @hourly/@daily/@weekly/@monthly/@yearly")
    timezone: str = Field("UTC", description="IANA name, e.g. Europe/Paris")
    catch_up: Literal["skip", "latest", "backfill"] = Field(
        "latest", description="what to do with slots missed while no scheduler ran: skip them, "
                              "run the latest once, or run each (up to max_backfill)")
    max_backfill: int = Field(10, ge=1, le=1000)
    paused: bool = False

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone_of(value)
        return value

    @model_validator(mode="after")
    def _cron(self) -> ScheduleSpec:
        check_cron(self.cron, self.timezone)
        return self


class TriggerSpec(_Model):
    """Run when something happens; exactly one key per entry."""

    dataset_snapshot: str | None = Field(None, description="a new snapshot of this dataset")
    drift_alert: str | None = Field(None, description="a drift alert on this monitor/dataset")
    model_registered: str | None = Field(None, description="a new version of this model")

    @model_validator(mode="after")
    def _exactly_one(self) -> TriggerSpec:
        given = [k for k in TRIGGER_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a trigger has exactly one of {', '.join(TRIGGER_KINDS)}; "
                             f"got {', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) is not None)

    @property
    def subject(self) -> str:
        return str(getattr(self, self.kind))


class PipelineSpec(_Model):
    """A pipeline: parameters, notebook steps with dependencies, a schedule, triggers."""

    model_config = ConfigDict(extra="forbid", title="jupyter-mlops pipeline")

    name: str | None = Field(None, description="defaults to the file name", max_length=256)
    description: str = ""
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)
    schedule: ScheduleSpec | None = None
    triggers: list[TriggerSpec] = Field(default_factory=list)
    concurrency: Literal["forbid", "allow", "replace"] = Field(
        "forbid", description="a run while another is active: refuse it (forbid), run both "
                              "(allow), or cancel the active one (replace)")

    _source: Path | None = PrivateAttr(None)
    _key: str | None = PrivateAttr(None)
    _root_node: Any = PrivateAttr(None)
    _origin: str = PrivateAttr("spec")  # "spec" (YAML or dict) or "notebook"

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        for key in value:
            if not PARAM_NAME_RE.match(str(key)):
                raise ValueError(f"parameter name {key!r} is not a Python identifier")
        return value

    # -- identity -----------------------------------------------------------------------
    @property
    def key(self) -> str:
        """Identity of the pipeline in runs and schedules: its workspace-relative file."""
        return self._key or f"inline:{self.name}"

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def origin(self) -> str:
        return self._origin

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFound(f"Pipeline {self.name!r} has no step {name!r}; steps: "
                       f"{', '.join(s.name for s in self.steps)}.")

    def line_of(self, *loc: Any) -> int | None:
        """The 1-based line of a path in the YAML source (None for specs built in code)."""
        return line_of(self._root_node, loc)

    def error(self, reason: str, *loc: Any, **details: Any) -> InvalidInput:
        """An InvalidInput naming this spec's file and the line of `loc`."""
        return spec_error(self._source, self.line_of(*loc) if loc else None, reason, **details)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# -- types and values ------------------------------------------------------------------------
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


# -- YAML with line numbers ------------------------------------------------------------------
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
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
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


# -- references ------------------------------------------------------------------------------
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
