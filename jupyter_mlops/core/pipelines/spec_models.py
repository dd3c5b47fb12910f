"""The pydantic models of a pipeline spec (the JSON schema editors validate with).

Parsing YAML into them, loading files and notebooks, and the semantic checks
live in `spec.py`; values and cron in `values.py`; errors with lines in
`spec_errors.py`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..errors import InvalidInput, NotFound
from .spec_errors import line_of, spec_error
from .values import check_cron, check_type, infer_type, zone_of

ParamType = Literal["int", "float", "str", "bool", "list", "dict"]
STEP_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: `${params.x}` or `${steps.prepare.outputs.rows}`; `$${` is a literal `${`
REF_RE = re.compile(r"(?<!\$)\$\{\s*([^}]*?)\s*\}")
SCHEMA_ID = "https://jupyter-mlops.dev/schema/pipeline.schema.json"
SPEC_SUFFIXES = (".pipeline.yaml", ".pipeline.yml")
TRIGGER_KINDS = ("dataset_snapshot", "drift_alert", "model_registered")


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
