"""Pydantic models of the registry routes (mirrored by `src/api/registry.ts`).

The answers follow `core.registry`'s value objects field for field
(`ModelVersion.to_dict()`, `AliasMove.to_dict()`, `GateResult.to_dict()`,
`LineageGraph.to_dict()`), so a cell, `%models` and the Models panel show the
same things. What a browser needs and the core cannot know is added here:
notebook paths relative to the Jupyter server's root, ready for
`docmanager:open`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .models import StrictModel

Version = int | str


# -- models and versions -----------------------------------------------------------------------
class RegisteredModelModel(BaseModel):
    name: str
    description: str | None
    latest_version: int | None
    aliases: dict[str, int] = Field(description="alias -> version number (MLflow's current map)")
    protected: list[str] = Field(description="Aliases that move only by promote or a gate")
    tags: dict[str, str]
    created: str | None
    updated: str | None


class RegisteredModelList(BaseModel):
    models: list[RegisteredModelModel]


class VersionDatasetModel(BaseModel):
    name: str
    digest: str | None
    source: str | None
    source_type: str | None
    context: str | None = Field(None, description="'training', 'evaluation', …")
    version: str | None = Field(None, description="Full content hash of a workbench snapshot")
    ref: str | None = Field(None, description="name@<short hash> of a workbench snapshot")


class ModelVersionModel(BaseModel):
    name: str
    version: int
    ref: str = Field(description="name/version")
    uri: str = Field(description="models:/name/version")
    aliases: list[str]
    run_id: str | None
    model_id: str | None
    source: str | None = Field(description="Where the artifacts are stored")
    source_uri: str | None = Field(description="What the version was registered from")
    flavor: str | None
    status: str | None
    description: str | None
    created: str | None
    updated: str | None
    tags: dict[str, str]
    metrics: dict[str, float | None] = Field(description="The run's metrics")
    params: dict[str, str]
    datasets: list[VersionDatasetModel] = Field(description="The run's dataset inputs")
    source_notebook: str | None = Field(
        description="The executed notebook when a pipeline ran it, else the notebook")
    notebook: str | None
    output_notebook: str | None
    git_commit: str | None
    experiment_id: str | None
    run_name: str | None
    user: str | None
    notebook_path: str | None = Field(
        None, description="source_notebook relative to the Jupyter server's root (openable); "
                          "null when it is outside it or missing")


class ModelVersionList(BaseModel):
    name: str
    versions: list[ModelVersionModel] = Field(description="Newest first")


class ModelDetail(RegisteredModelModel):
    versions: list[ModelVersionModel] = Field(description="Newest first")


# -- aliases -----------------------------------------------------------------------------------
class AliasMoveModel(BaseModel):
    id: int
    model: str
    alias: str
    from_version: int | None = Field(description="null: the alias did not exist before")
    to_version: int | None = Field(description="null: the alias was removed")
    actor: str | None
    reason: str | None
    ts: str
    via: Literal["promote", "gate", "register", "set", "remove"]
    gate_id: int | None = Field(None, description="The gate result that moved it (via gate)")


class AliasListQuery(StrictModel):
    alias: str | None = Field(None, max_length=256, description="Only this alias's history")
    limit: int = Field(200, ge=1, le=1000, description="History entries, newest first")


class AliasList(BaseModel):
    name: str
    aliases: dict[str, int] = Field(description="alias -> version number now")
    protected: list[str]
    history: list[AliasMoveModel] = Field(description="Recorded moves, newest first")


class AliasDetail(BaseModel):
    name: str
    alias: str
    version: int | None = Field(description="The version it points at now (null: removed)")
    protected: bool
    history: list[AliasMoveModel] = Field(description="Moves of this alias, newest first")


class AliasSet(StrictModel):
    version: Version = Field(..., description="A version number, or another alias to copy")
    reason: str | None = Field(
        None, max_length=10_000,
        description="Why; required for a protected alias (the move is then a promotion)")


class AliasRemoveQuery(StrictModel):
    reason: str | None = Field(None, max_length=10_000)


class AliasMoveAnswer(BaseModel):
    moved: bool = Field(description="False when the alias already pointed there")
    move: AliasMoveModel | None
    alias: AliasDetail


class RegistryPromoteRequest(StrictModel):
    version: Version = Field(..., description="A version number or an alias ('challenger')")
    alias: str = Field("champion", min_length=1, max_length=256,
                       description="The alias moved to that version")
    reason: str | None = Field(
        None, max_length=10_000,
        description="Required (refused by rule 'reason-required' when empty); kept in the history")


# -- gates -------------------------------------------------------------------------------------
class MetricRules(StrictModel):
    min: float | None = Field(None, description="The challenger's score must be at least this")
    max: float | None = Field(None, description="The challenger's score must be at most this")
    min_delta: float | None = Field(
        None, description="Improvement over the champion in the metric's better direction")
    min_relative: float | None = Field(
        None, description="Improvement as a fraction of the champion's score (0.02 = 2 %)")
    higher_is_better: bool | None = None

    def rules(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class GateRequest(StrictModel):
    model: str = Field(..., min_length=1, max_length=256)
    challenger: Version = Field("challenger", description="An alias or a version number")
    against: Version = Field("champion", description="An alias or a version number")
    dataset: str = Field(..., min_length=1, max_length=600,
                         description="Held-out dataset version: 'name@version' (a tag, a hash "
                                     "prefix or 'latest')")
    metrics: dict[str, MetricRules] | list[str] | None = Field(
        None, description="{metric: rules}, or metric names (no worse than the champion); "
                          "default f1 (classification) or rmse (regression)")
    target: str | None = Field(None, max_length=256, description="The label column (guessed "
                                                                 "when omitted)")
    task: Literal["classification", "regression"] | None = None
    pos_label: str | int | bool | None = None
    promote: bool = Field(False, description="Move the alias to a passing challenger")
    alias: str | None = Field(None, max_length=256, description="The alias a promotion moves "
                                                                "(default: `against`)")
    reason: str | None = Field(None, max_length=10_000, description="Added to the promotion's "
                                                                     "reason")

    def metric_spec(self) -> Any:
        if isinstance(self.metrics, dict):
            return {name: rules.rules() for name, rules in self.metrics.items()}
        return self.metrics


class MetricCheckModel(BaseModel):
    metric: str
    rule: str
    threshold: float
    challenger: float | None
    champion: float | None
    compared: float | None = Field(description="The challenger's score or its improvement")
    passed: bool | None = Field(description="null: skipped (no champion to compare with)")
    message: str


class GateResultModel(BaseModel):
    id: int
    name: str
    challenger: int
    champion: int | None
    challenger_ref: str
    champion_ref: str | None
    dataset: str = Field(description="name@<full content hash> of the held-out version")
    target: str | None
    task: str
    rows: int | None
    metrics: dict[str, Any] = Field(description="The rules applied, per metric")
    scores: dict[str, Any] = Field(description="{challenger: {metric: score}, champion: … | "
                                               "null}")
    checks: list[MetricCheckModel]
    passed: bool
    reasons: list[str]
    promoted: bool
    promoted_alias: str | None
    actor: str | None
    ts: str
    first_champion: bool
    verdict: str = Field(description="PASSED / REJECTED, and the promotion if any")
    headline: str


class GateListQuery(StrictModel):
    model: str | None = Field(None, max_length=256)
    limit: int = Field(50, ge=1, le=1000)


class GateList(BaseModel):
    gates: list[GateResultModel] = Field(description="Newest first")


# -- lineage -----------------------------------------------------------------------------------
class LineageNodeModel(BaseModel):
    id: str
    kind: Literal["model_version", "run", "pipeline_run", "executed_notebook", "notebook",
                  "dataset_version", "git_commit", "environment"] | str
    label: str
    data: dict[str, Any]
    open: dict[str, Any] | None = Field(
        description="What opens it: {type: run, run_id} | {type: notebook, path (relative to "
                    "the server root)} | {type: dataset, name, version} | {type: model, name, "
                    "version} | {type: git, commit} | {type: artifact, run_id, path}")
    missing: bool = Field(description="Recorded but gone (deleted run, moved notebook, "
                                      "collected dataset version)")


class LineageEdgeModel(BaseModel):
    source: str
    target: str
    relation: str = Field(description="produced_by, child_of, executed, rendered_from, ran, "
                                      "read, at_commit, in_environment")


class LineageModel(BaseModel):
    root: str
    nodes: list[LineageNodeModel]
    edges: list[LineageEdgeModel] = Field(description="From what was made to what it was "
                                                      "made from")
