"""Pydantic models of the deployment routes (mirrored by `src/api/deployments.ts`).

The shapes follow `core.deploy` field for field (`Deployment.to_dict()`,
`health()`, the prediction log, `ShadowComparison`), so a deployment made
in a notebook and one made from the panel read the same. Strategy
parameters are checked twice on purpose: their types here (a 400 naming the
field), which parameters a kind takes in `core.deploy.strategies` (a 400
listing what the kind accepts).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .models import StrictModel

StrategyKind = Literal["single", "blue_green", "canary", "ab", "shadow"]


# -- strategies --------------------------------------------------------------------------------
class StrategySpecModel(StrictModel):
    """A release strategy and its parameters; only those of its kind may be given."""

    kind: StrategyKind = Field(..., description="single | blue_green | canary | ab | shadow")
    steps: list[float] | None = Field(
        None, description="canary: the candidate's traffic percentages, rising, ending at 100 "
                          "(e.g. [5, 25, 50, 100])")
    bake: float | None = Field(None, ge=0, description="canary: seconds each step bakes")
    max_error_rate_increase: float | None = Field(
        None, ge=0, le=1, description="canary: roll back when the candidate's error rate "
                                      "exceeds the stable's by this much (0.05 = 5 points)")
    max_latency_increase: float | None = Field(
        None, ge=0, description="canary: ... or its p95 exceeds the stable's by this fraction")
    latency_slack_ms: float | None = Field(None, ge=0, description="canary: plus this many ms")
    min_requests: int | None = Field(None, ge=1, description="canary: requests before judging")
    auto_rollback: bool | None = Field(None, description="canary: roll back on a breach")
    weights: list[float] | None = Field(
        None, description="ab: percentages of (stable, candidate), adding up to 100")
    sticky_header: str | None = Field(
        None, description="ab/canary: request header whose value keeps a caller on one side "
                          "(default X-MLOps-Key)")
    mirror_fraction: float | None = Field(
        None, gt=0, le=1, description="shadow: share of requests mirrored to the candidate")
    max_mirror_inflight: int | None = Field(None, ge=1,
                                            description="shadow: mirrored requests in flight")
    auto_promote: bool | None = Field(
        None, description="blue_green: switch as soon as the new colour is healthy")

    def to_core(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class StrategyModel(BaseModel):
    """A deployment's strategy as stored (only the parameters of its kind)."""

    kind: str
    text: str = Field(description="The strategy in words, e.g. "
                                  "'canary 5→25→50→100 % (bake 60 s)'")
    params: dict[str, Any] = Field(default_factory=dict)


# -- requests ----------------------------------------------------------------------------------
class DeploymentCreate(StrictModel):
    model: str = Field(..., min_length=1, max_length=500,
                       description="'name@alias', 'name/version', 'name' (latest), "
                                   "'models:/…' or 'runs:/…'")
    name: str | None = Field(None, description="Deployment name (default: from the model)")
    target: str = Field("local", description="Deploy target: local | docker")
    port: int | None = Field(None, ge=1, le=65535,
                             description="Port of the stable endpoint (default: a free one)")
    strategy: StrategySpecModel | None = Field(
        None, description="Strategy of later rollouts; on an existing running deployment, how "
                          "`model` is rolled out")
    target_options: dict[str, Any] | None = Field(
        None, description="Options of the target (docker: base_image, docker_host, …)")
    wait: bool = Field(True, description="Answer once the deployment serves (false: 202 at "
                                         "once with status 'starting'; poll the detail)")


class StrategyChange(StrictModel):
    strategy: StrategySpecModel
    model: str | None = Field(
        None, min_length=1, max_length=500,
        description="Roll this model out as the candidate with the strategy; without it, "
                    "change the parameters of the rollout in progress (or of the next one)")


class PromoteRequest(StrictModel):
    version: str | None = Field(None, description="The candidate (or the standby) to promote; "
                                                  "default: the candidate")
    reason: str | None = Field(None, max_length=500)


class RollbackRequest(StrictModel):
    reason: str | None = Field(None, max_length=500)


class StartRequest(StrictModel):
    wait: bool = True


class DeploymentListQuery(StrictModel):
    model: str | None = Field(None, description="Only deployments serving a version of this "
                                                "registered model")


class DeleteQuery(StrictModel):
    purge_predictions: bool = Field(False, description="Also delete the prediction log")


class PredictionsQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    before: str | None = Field(None, description="ISO time: only requests logged before it "
                                                 "(the `next_before` of the previous page)")
    version: str | None = Field(None, description="Only this version's rows ('churn/3')")
    shadow: bool | None = Field(None, description="true: only mirrored requests; false: only "
                                                  "answered ones")


class ShadowQuery(StrictModel):
    since: str | None = Field(None, description="ISO time or a duration like '15m', '2h', '7d'")
    last: int | None = Field(None, ge=1, le=1_000_000, description="Only the last N mirrored "
                                                                   "requests")


class EventsQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    before_id: int | None = Field(None, ge=1)


class LogsQuery(StrictModel):
    tail: int = Field(100, ge=1, le=10_000)
    version: str | None = None


# -- answers -----------------------------------------------------------------------------------
class VersionStatsModel(BaseModel):
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    rate_per_s: float = 0.0
    error_rate: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    window_s: float | None = None
    total_requests: int | None = None
    total_errors: int | None = None
    inflight: int | None = None


class VersionModel(BaseModel):
    key: str = Field(description="'<model>/<version>', what X-MLOps-Version names")
    model_name: str
    model_version: str
    model_ref: str | None
    model_uri: str | None
    role: str = Field(description="stable | candidate | standby")
    weight: float = Field(description="Percent of live traffic")
    state: str
    healthy: bool
    url: str | None
    pid: int | None
    container_id: str | None
    image: str | None
    error: str | None
    stats: VersionStatsModel | None = Field(None, description="Over the last minute")


class RolloutProgress(BaseModel):
    """A rollout as a panel draws it: which step, its weight, how long it still bakes."""

    kind: str
    candidate: str | None
    stable: str | None
    state: str = Field(description="running | promoted | rolled_back | failed")
    steps: list[float] = Field(default_factory=list, description="canary: the steps")
    step: int = 0
    weight: float | None = None
    bake_s: float | None = None
    bake_remaining_s: float | None = Field(None, description="canary, while running")
    started: str | None = None
    step_started: str | None = None
    ended: str | None = None
    reason: str | None = Field(None, description="Why it ended (the breach of a rollback)")
    automatic: bool | None = None
    analysis: dict[str, Any] | None = Field(None, description="The last canary verdict")
    history: list[dict[str, Any]] = Field(default_factory=list)


class DeploymentModel(BaseModel):
    name: str
    url: str = Field(description="The stable endpoint; POST /invocations for predictions")
    status: str = Field(description="starting | running | degraded | failed | stopped | down")
    desired: str
    target: str
    port: int
    strategy: StrategyModel
    traffic: dict[str, float] = Field(description="Percent of live traffic per version")
    versions: list[VersionModel]
    rollout: RolloutProgress | None
    error: str | None
    created: str | None
    started: str | None
    router_pid: int | None


class DeploymentList(BaseModel):
    deployments: list[DeploymentModel]
    targets: list[str] = Field(description="Deploy targets this server offers")


class DeploymentDeleted(BaseModel):
    name: str
    stopped: bool
    purged: bool


class VersionHealth(BaseModel):
    key: str
    live: bool
    healthy: bool
    role: str
    weight: float
    requests: int
    rate_per_s: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    total_requests: int | None
    total_errors: int | None
    inflight: int | None
    error: str | None


class HealthModel(BaseModel):
    name: str
    status: str
    versions: list[VersionHealth]


class PredictionModel(BaseModel):
    ts: str
    request_id: str | None
    version: str | None
    role: str | None
    status: int
    latency_ms: float | None
    shadow: bool
    content_type: str | None
    request: str | None = Field(description="The request body (cut at 4,096 characters)")
    response: str | None = Field(description="The response body (cut at 4,096 characters)")
    truncated: bool
    error: str | None


class PredictionPage(BaseModel):
    predictions: list[PredictionModel] = Field(description="Newest first")
    next_before: str | None = Field(description="Pass as `before` for the next (older) page")


class ShadowComparisonModel(BaseModel):
    deployment: str
    champion: str | None
    challenger: str | None
    requests: int = Field(description="Mirrored requests paired with the answer the caller got")
    rows: int = Field(description="Predicted rows compared")
    agreement_rate: float | None
    mean_abs_diff: float | None
    challenger_errors: int
    champion_p50_ms: float | None
    challenger_p50_ms: float | None
    drift_test: str | None
    drift_statistic: float | None
    drift_p_value: float | None
    drifted: bool | None = Field(description="The challenger's predictions drifted from the "
                                             "champion's")
    distribution: dict[str, dict[str, float]] | None


class DeploymentEvent(BaseModel):
    id: int
    ts: str
    kind: str
    message: str
    data: dict[str, Any] | None
    actor: str | None


class DeploymentEventList(BaseModel):
    events: list[DeploymentEvent]
    next_before_id: int | None


class LogsModel(BaseModel):
    name: str
    text: str
