"""Scoring one registered version on a held-out frame: load it, find its inputs and the
label, tell the task, predict, and compute the asked and the reported metrics."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..workspace import Workspace
from ._common import client_of, mlflow_errors
from .flavors import LABEL_CANDIDATES
from .metrics import BUILTIN_METRICS, _finite

MAX_CLASSES_FOR_INT_LABELS = 20


@dataclass
class _Loaded:
    version: int
    ref: str
    pyfunc: Any
    native: Any
    inputs: list[str] | None


def _load(ws: Workspace, name: str, mv: Any, ref: str) -> _Loaded:
    from .models import _load_pyfunc, native_model

    client = client_of(ws)
    with mlflow_errors(ws.tracking_uri):
        uri = client.get_model_version_download_uri(name, mv.version)
    model = _load_pyfunc(ws, uri)
    native = native_model(model)
    inputs: list[str] | None = None
    try:
        schema = model.metadata.get_input_schema()
        if schema is not None and schema.has_input_names():
            inputs = [str(n) for n in schema.input_names()]
    except Exception:
        inputs = None
    if inputs is None and getattr(native, "feature_names_in_", None) is not None:
        inputs = [str(n) for n in native.feature_names_in_]
    return _Loaded(int(mv.version), ref, model, native, inputs)


def _guess_target(columns: list[str], inputs: list[str] | None) -> str:
    if inputs is not None:
        rest = [c for c in columns if c not in set(inputs)]
        if len(rest) == 1:
            return rest[0]
    for name in LABEL_CANDIDATES:
        if name in columns:
            return name
    candidates = [c for c in columns if inputs is None or c not in set(inputs)]
    raise InvalidInput(
        "Cannot tell which column is the label; pass target=. Candidates: "
        f"{', '.join(candidates) or 'none'}.", details={"candidates": candidates})


def _detect_task(y: Any, natives: list[Any]) -> str:
    import pandas as pd

    if any(hasattr(n, "predict_proba") or hasattr(n, "classes_") for n in natives if n is not None):
        return "classification"
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= MAX_CLASSES_FOR_INT_LABELS:
        return "classification"
    return "regression"


def _as_1d(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        predictions = predictions.iloc[:, 0]
    array = np.asarray(predictions)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    return array


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _score(loaded: _Loaded, model_name: str, x: Any, y: Any, task: str, metrics: list[str],
           reported: list[str], custom: dict[str, Callable[..., float]],
           pos_label: Any) -> dict[str, float | None]:
    import numpy as np

    label = f"{model_name} v{loaded.version}"
    try:
        predicted = _as_1d(loaded.pyfunc.predict(x))
    except Exception as exc:
        raise InvalidInput(f"{label} could not predict on the dataset: {type(exc).__name__}: "
                           f"{exc}") from exc
    ctx: dict[str, Any] = {"binary": False, "pos_label": pos_label, "proba": None,
                           "score": None, "classes": None}
    if task == "classification":
        classes = list(getattr(loaded.native, "classes_", [])) or sorted(
            set(np.asarray(y).tolist()) | set(predicted.tolist()), key=str)
        ctx["classes"] = classes
        ctx["binary"] = len(classes) == 2
        if ctx["binary"] and pos_label is None:
            ctx["pos_label"] = True if True in classes and False in classes else classes[-1]
        needs = [m for m in metrics if m in BUILTIN_METRICS and BUILTIN_METRICS[m].needs_scores]
        wants = [m for m in reported if m in BUILTIN_METRICS and BUILTIN_METRICS[m].needs_scores]
        if (needs or wants or custom) and hasattr(loaded.native, "predict_proba"):
            try:
                proba = np.asarray(loaded.native.predict_proba(x))
                ctx["proba"] = proba
                if ctx["binary"]:
                    ctx["score"] = proba[:, classes.index(ctx["pos_label"])]
            except Exception as exc:
                if needs:
                    raise InvalidInput(f"{label} could not predict probabilities: "
                                       f"{type(exc).__name__}: {exc}") from exc
        if needs and ctx["proba"] is None:
            raise InvalidInput(f"{', '.join(needs)} need(s) predicted probabilities, and {label} "
                               "has no predict_proba.", details={"metrics": needs})
    scores: dict[str, float | None] = {}
    for metric in [*metrics, *(m for m in reported if m not in metrics)]:
        checked = metric in metrics
        try:
            if metric in custom:
                fn = custom[metric]
                extra = {}
                if _takes(fn, "y_score"):
                    extra["y_score"] = ctx["score"] if ctx["binary"] else ctx["proba"]
                value = fn(y, predicted, **extra)
            else:
                spec = BUILTIN_METRICS[metric]
                if spec.needs_scores and ctx["proba"] is None:
                    continue  # reported only, and this model has no probabilities
                value = spec.fn(y, predicted, ctx)
        except InvalidInput:
            raise
        except Exception as exc:
            if not checked and metric not in custom:
                continue  # a built-in shown for context only; the user asked for the others
            raise InvalidInput(f"Metric {metric!r} failed on {label}: {type(exc).__name__}: "
                               f"{exc}", details={"metric": metric}) from exc
        scores[metric] = _finite(value)
    return scores
