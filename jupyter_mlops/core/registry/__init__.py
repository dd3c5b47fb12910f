"""Model registry: versions, aliases with history and protection, a champion/challenger
gate, and lineage, over the workspace's MLflow Model Registry.

    mv = register_model(run.id, "churn", alias="challenger")
    result = gate("churn", dataset="holdout@v3",
                  metrics={"f1": {"min_delta": 0.01}, "roc_auc": {"min": 0.7}}, promote=True)
    promote("churn", "challenger", reason="manual override after review")
    alias_history("churn", "champion")
    lineage("churn@champion")

MLflow stays the source of truth for versions and the current aliases
(`models:/churn@champion` works with every MLflow tool); the workbench's state
DB adds what MLflow lacks: the alias history, protected aliases and gate
decisions. Every alias move and gate is also an activity-log event
(`registry.alias`, `registry.gate`).

Modules: `versions` (lookups that name what exists), `sources` (what a
registration points at), `models` (registering, loading), `flavors` (logging a
fitted object), `aliases` (moves, protection, history), `gate` (the decision)
over `metrics`, `rules`, `scoring` and `results`, and `lineage`.
"""

from __future__ import annotations

from .aliases import (
    AliasMove,
    alias_history,
    promote,
    protect_alias,
    protected_aliases,
    remove_alias,
    set_alias,
    unprotect_alias,
)
from .flavors import LoggedModelInfo, detect_flavor, log_model_object
from .gate import BUILTIN_METRICS, GateResult, MetricCheck, gate, get_gate_result, list_gate_results
from .lineage import LineageEdge, LineageGraph, LineageNode, lineage
from .models import (
    ModelVersion,
    RegisteredModel,
    get_model_version,
    list_model_versions,
    list_models,
    load_model,
    register_model,
)

__all__ = [
    "BUILTIN_METRICS",
    "AliasMove",
    "GateResult",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "LoggedModelInfo",
    "MetricCheck",
    "ModelVersion",
    "RegisteredModel",
    "alias_history",
    "detect_flavor",
    "gate",
    "get_gate_result",
    "get_model_version",
    "lineage",
    "list_gate_results",
    "list_model_versions",
    "list_models",
    "load_model",
    "log_model_object",
    "promote",
    "protect_alias",
    "protected_aliases",
    "register_model",
    "remove_alias",
    "set_alias",
    "unprotect_alias",
]
