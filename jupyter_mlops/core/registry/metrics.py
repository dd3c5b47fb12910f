"""The gate's built-in metrics: what each computes, on which task, and which way is better.

Classification: accuracy, balanced_accuracy, f1, precision, recall (binary
with a positive label, macro-averaged otherwise), roc_auc and log_loss (they
need predicted probabilities). Regression: rmse, mse, mae, r2, mape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    task: str
    higher_is_better: bool
    needs_scores: bool
    fn: Callable[..., float]


def _cls_average(ctx: dict[str, Any]) -> dict[str, Any]:
    if ctx["binary"]:
        return {"average": "binary", "pos_label": ctx["pos_label"]}
    return {"average": "macro"}


def _f1(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import f1_score

    return f1_score(y, p, zero_division=0, **_cls_average(ctx))


def _precision(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import precision_score

    return precision_score(y, p, zero_division=0, **_cls_average(ctx))


def _recall(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import recall_score

    return recall_score(y, p, zero_division=0, **_cls_average(ctx))


def _accuracy(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, p)


def _balanced_accuracy(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, p)


def _roc_auc(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if ctx["binary"]:
        return roc_auc_score(np.asarray(y) == ctx["pos_label"], ctx["score"])
    return roc_auc_score(y, ctx["proba"], multi_class="ovr", labels=ctx["classes"])


def _log_loss(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import log_loss

    return log_loss(y, ctx["proba"], labels=ctx["classes"])


def _mse(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import mean_squared_error

    return mean_squared_error(y, p)


def _rmse(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    return math.sqrt(_mse(y, p, ctx))


def _mae(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, p)


def _r2(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import r2_score

    return r2_score(y, p)


def _mape(y: Any, p: Any, ctx: dict[str, Any]) -> float:
    from sklearn.metrics import mean_absolute_percentage_error

    return mean_absolute_percentage_error(y, p)


BUILTIN_METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in (
    MetricSpec("accuracy", "classification", True, False, _accuracy),
    MetricSpec("balanced_accuracy", "classification", True, False, _balanced_accuracy),
    MetricSpec("f1", "classification", True, False, _f1),
    MetricSpec("precision", "classification", True, False, _precision),
    MetricSpec("recall", "classification", True, False, _recall),
    MetricSpec("roc_auc", "classification", True, True, _roc_auc),
    MetricSpec("log_loss", "classification", False, True, _log_loss),
    MetricSpec("rmse", "regression", False, False, _rmse),
    MetricSpec("mse", "regression", False, False, _mse),
    MetricSpec("mae", "regression", False, False, _mae),
    MetricSpec("r2", "regression", True, False, _r2),
    MetricSpec("mape", "regression", False, False, _mape),
)}
DEFAULT_METRICS = {"classification": {"f1": {"min_delta": 0.0}},
                   "regression": {"rmse": {"min_delta": 0.0}}}
#: also scored (not checked) so the record shows more than the gated metric
REPORTED = {"classification": ("accuracy", "f1", "roc_auc"), "regression": ("rmse", "mae", "r2")}


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
