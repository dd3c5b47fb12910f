"""From core deployment state to the API models of `deploy_models.py`.

`Deployment.to_dict()` is the router's live answer (or the state DB's last
word); here it becomes what a panel draws: the strategy in words, the
canary's progress with the bake time left on the current step, health
figures, and prediction-log rows with their bodies cut to a readable size.
"""

from __future__ import annotations

import math
from typing import Any

from .deploy_models import (
    DeploymentModel,
    HealthModel,
    PredictionModel,
    PredictionPage,
    RolloutProgress,
    ShadowComparisonModel,
    StrategyModel,
    VersionHealth,
    VersionModel,
    VersionStatsModel,
)

#: request and response bodies in a prediction page are cut at this many characters
BODY_CHARS = 4096


def _strategy(raw: dict[str, Any] | None) -> StrategyModel:
    from ..core.deploy.strategies import parse_strategy
    from ..core.errors import InvalidInput

    raw = dict(raw or {"kind": "single"})
    try:
        text = parse_strategy(raw).describe()
    except InvalidInput:  # written by another release: show it, do not fail the listing
        text = str(raw.get("kind"))
    kind = str(raw.pop("kind", "single"))
    return StrategyModel(kind=kind, text=text, params=raw)


def rollout_progress(rollout: dict[str, Any] | None,
                     strategy: dict[str, Any] | None) -> RolloutProgress | None:
    from ..core.deploy.progress import rollout_progress as progress

    found = progress(rollout, strategy)
    return RolloutProgress(**found) if found is not None else None


def _version(v: dict[str, Any]) -> VersionModel:
    stats = v.get("stats")
    return VersionModel(
        key=v["key"], model_name=v["model_name"], model_version=str(v["model_version"]),
        model_ref=v.get("model_ref"), model_uri=v.get("model_uri"), role=v["role"],
        weight=float(v["weight"] or 0.0), state=v["state"], healthy=bool(v["healthy"]),
        url=v.get("url"), pid=v.get("pid"), container_id=v.get("container_id"),
        image=v.get("image"), error=v.get("error"),
        stats=VersionStatsModel(**{k: val for k, val in stats.items()
                                   if k in VersionStatsModel.model_fields})
        if stats else None)


def deployment_model(state: dict[str, Any]) -> DeploymentModel:
    """`Deployment.to_dict()` as the API answers it."""
    return DeploymentModel(
        name=state["name"], url=state["url"], status=state["status"],
        desired=state["desired"], target=state["target"], port=state["port"],
        strategy=_strategy(state.get("strategy")), traffic=state.get("traffic") or {},
        versions=[_version(v) for v in state["versions"]],
        rollout=rollout_progress(state.get("rollout"), state.get("strategy")),
        error=state.get("error"), created=state.get("created"), started=state.get("started"),
        router_pid=state.get("router_pid"))


def serves_model(state: dict[str, Any], model: str) -> bool:
    """A live version of the deployment is a version of the registered model `model`."""
    return any(v["model_name"] == model for v in state["versions"])


def health_model(name: str, status: str, report: dict[str, dict[str, Any]]) -> HealthModel:
    return HealthModel(name=name, status=status,
                       versions=[VersionHealth(key=key, **figures)
                                 for key, figures in report.items()])


def _clean(value: Any) -> Any:
    """pandas' missing values (NaN, NaT, pd.NA) as None."""
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _cut(text: Any) -> tuple[str | None, bool]:
    text = _clean(text)
    if text is None:
        return None, False
    text = str(text)
    return (text[:BODY_CHARS], True) if len(text) > BODY_CHARS else (text, False)


def prediction_page(frame: Any, limit: int) -> PredictionPage:
    """A page of the log (oldest first as read) as API rows, newest first."""
    rows = []
    for record in reversed(frame.to_dict("records")):
        request, cut_in = _cut(record.get("request"))
        response, cut_out = _cut(record.get("response"))
        ts = record["ts"]
        latency = _clean(record.get("latency_ms"))
        rows.append(PredictionModel(
            ts=ts.isoformat() if hasattr(ts, "isoformat") else str(ts),
            request_id=_clean(record.get("request_id")), version=_clean(record.get("version")),
            role=_clean(record.get("role")), status=int(record.get("status") or 0),
            latency_ms=None if latency is None else round(float(latency), 3),
            shadow=bool(record.get("shadow")), content_type=_clean(record.get("content_type")),
            request=request, response=response, truncated=cut_in or cut_out,
            error=_clean(record.get("error"))))
    next_before = rows[-1].ts if len(rows) == limit else None
    return PredictionPage(predictions=rows, next_before=next_before)


def empty_shadow(state: dict[str, Any]) -> ShadowComparisonModel:
    """The comparison of a deployment that has logged nothing yet."""
    roles = {v["role"]: v["key"] for v in state["versions"]}
    return ShadowComparisonModel(
        deployment=state["name"], champion=roles.get("stable"),
        challenger=roles.get("candidate"), requests=0, rows=0, agreement_rate=None,
        mean_abs_diff=None, challenger_errors=0, champion_p50_ms=None, challenger_p50_ms=None,
        drift_test=None, drift_statistic=None, drift_p_value=None, drifted=None,
        distribution=None)
