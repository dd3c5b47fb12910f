"""The champion/challenger gate: score two versions on one held-out dataset version.

    gate("churn", challenger="challenger", against="champion",
         dataset="holdout@v3",
         metrics={"f1": {"min_delta": 0.01}, "roc_auc": {"min": 0.7}},
         promote=True)

Rules per metric (any combination):

- `min` / `max`: absolute bounds on the challenger's score;
- `min_delta`: the challenger must beat the champion by at least this much,
  in the metric's better direction (negative: a tolerated regression);
- `min_relative`: the same as a fraction of the champion's score (0.02 = 2 %);
- `higher_is_better`: overrides the metric's direction (custom metrics: True).

A metric named with no rule must simply be no worse than the champion
(`min_delta: 0`). Without `metrics`, classification gates on F1 and regression
on RMSE that way. Rules against the champion are skipped, and said so, when
there is no champion yet; then the first passing challenger becomes the
champion (the alias named by `against`), so the loop can start.

Built-in metrics: accuracy, balanced_accuracy, f1, precision, recall,
roc_auc, log_loss (classification); rmse, mse, mae, r2, mape (regression).
`custom_metrics={"profit": fn}` adds `fn(y_true, y_pred)` (it also gets
`y_score=` when it takes that parameter: the positive class's probability
for a binary task, the probability matrix otherwise).

Every gate is recorded (`registry_gate_results` and a `registry.gate` event)
with both versions, the dataset's full content hash, the metric rules, both
scores and the decision; a promotion it makes is recorded in the alias
history with `via="gate"` and the gate's id.
"""

from __future__ import annotations

import html
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..db.models import utcnow
from ..db.registry_models import GateResultRow
from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from ._common import (
    ModelRef,
    as_version_number,
    client_of,
    mlflow_errors,
    resolve_workspace,
    validate_alias,
    validate_model_name,
)
from ._data import dataset_ref, read_frame, resolve_dataset_version
from .flavors import LABEL_CANDIDATES

RULES = ("min", "max", "min_delta", "min_relative")
OPTIONS = (*RULES, "higher_is_better")
TASKS = ("classification", "regression")
EPS = 1e-12
MAX_CLASSES_FOR_INT_LABELS = 20


# -- metrics --------------------------------------------------------------------------------
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


# -- results --------------------------------------------------------------------------------
def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class MetricCheck:
    """One rule applied to one metric: `passed` None means skipped (no champion)."""

    metric: str
    rule: str
    threshold: float
    challenger: float | None
    champion: float | None
    compared: float | None  # the challenger's score, or its improvement over the champion
    passed: bool | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "rule": self.rule, "threshold": self.threshold,
                "challenger": _finite(self.challenger), "champion": _finite(self.champion),
                "compared": _finite(self.compared), "passed": self.passed,
                "message": self.message}


@dataclass
class GateResult:
    """The decision of one gate, as recorded."""

    id: int
    name: str
    challenger: int
    champion: int | None
    challenger_ref: str
    champion_ref: str | None
    dataset: str
    target: str | None
    task: str
    rows: int | None
    metrics: dict[str, Any]
    scores: dict[str, Any]
    checks: list[MetricCheck]
    passed: bool
    reasons: list[str]
    promoted: bool
    promoted_alias: str | None
    actor: str | None
    ts: datetime
    first_champion: bool = field(default=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "challenger": self.challenger,
                "champion": self.champion, "challenger_ref": self.challenger_ref,
                "champion_ref": self.champion_ref, "dataset": self.dataset,
                "target": self.target, "task": self.task, "rows": self.rows,
                "metrics": self.metrics, "scores": self.scores,
                "checks": [c.to_dict() for c in self.checks], "passed": self.passed,
                "reasons": list(self.reasons), "promoted": self.promoted,
                "promoted_alias": self.promoted_alias, "actor": self.actor,
                "ts": self.ts.isoformat(), "first_champion": self.first_champion}

    # -- rendering --------------------------------------------------------------------------
    def _rows(self) -> list[list[str]]:
        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:.4f}"

        rows = []
        for check in self.checks:
            rule = f"{check.rule} {check.threshold:g}"
            result = "SKIP" if check.passed is None else "PASS" if check.passed else "FAIL"
            delta = ("—" if check.challenger is None or check.champion is None
                     else f"{check.challenger - check.champion:+.4f}")
            rows.append([check.metric, fmt(check.challenger), fmt(check.champion), delta, rule,
                         result])
        checked = {c.metric for c in self.checks}
        champion_scores = self.scores.get("champion") or {}
        for metric, value in sorted((self.scores.get("challenger") or {}).items()):
            if metric in checked:
                continue
            other = champion_scores.get(metric)
            delta = "—" if value is None or other is None else f"{value - other:+.4f}"
            rows.append([metric, fmt(value), fmt(other), delta, "(reported)", ""])
        return rows

    def headline(self) -> str:
        versus = (f"v{self.champion} ({self.champion_ref})" if self.champion is not None
                  else f"no {self.champion_ref or 'champion'} yet")
        rows = f"{self.rows:,} rows" if self.rows is not None else "rows ?"
        short = self.dataset.split("@")[0] + "@" + self.dataset.split("@")[-1][:12]
        return (f"gate #{self.id} {self.name}: v{self.challenger} ({self.challenger_ref}) vs "
                f"{versus} on {short} ({rows}, target {self.target or '—'}, {self.task})")

    def verdict(self) -> str:
        word = "PASSED" if self.passed else "REJECTED"
        if self.promoted:
            return f"{word}: v{self.challenger} promoted to @{self.promoted_alias}"
        return word

    def table(self) -> str:
        """A plain-text pass/fail table (what `%%gate` prints)."""
        head = ["metric", "challenger", "champion", "delta", "rule", "result"]
        rows = self._rows()
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [self.headline(),
                 "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(self.verdict())
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        esc = html.escape
        head = ["metric", "challenger", "champion", "delta", "rule", "result"]
        body = []
        for row in self._rows():
            colour = {"PASS": "var(--jp-success-color1, #2e7d32)",
                      "FAIL": "var(--jp-error-color1, #c62828)"}.get(row[-1], "inherit")
            cells = "".join(f"<td>{esc(c)}</td>" for c in row[:-1])
            body.append(f"<tr>{cells}<td style='color:{colour};font-weight:600'>"
                        f"{esc(row[-1])}</td></tr>")
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.reasons)
        state = "jp-mlops-gate-passed" if self.passed else "jp-mlops-gate-rejected"
        return (f'<div class="jp-mlops-gate {state}" data-mlops-gate-id="{self.id}">'
                f"<div>{esc(self.headline())}</div>"
                f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
                f"<div><b>{esc(self.verdict())}</b></div><ul>{reasons}</ul></div>")


def _result(row: GateResultRow) -> GateResult:
    ts = row.ts if row.ts.tzinfo is not None else row.ts.replace(tzinfo=utcnow().tzinfo)
    checks = [MetricCheck(**{k: c.get(k) for k in (
        "metric", "rule", "threshold", "challenger", "champion", "compared", "passed",
        "message")}) for c in row.checks]
    return GateResult(
        id=row.id, name=row.model, challenger=row.challenger_version,
        champion=row.champion_version, challenger_ref=row.challenger_ref,
        champion_ref=row.champion_ref, dataset=row.dataset, target=row.target, task=row.task,
        rows=row.rows, metrics=row.metrics_config, scores=row.scores, checks=checks,
        passed=row.passed, reasons=list(row.reasons), promoted=row.promoted,
        promoted_alias=row.promoted_alias, actor=row.actor, ts=ts,
        first_champion=row.champion_version is None)


# -- configuration --------------------------------------------------------------------------
def normalize_metrics(metrics: Any, task: str,
                      custom: dict[str, Callable[..., float]]) -> dict[str, dict[str, Any]]:
    """`{"f1": {"min_delta": 0.01}}`, `["f1", "roc_auc"]` or `"f1"` → checked rules per metric."""
    if metrics is None:
        spec: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_METRICS[task].items()}
    elif isinstance(metrics, str):
        spec = {metrics: {}}
    elif isinstance(metrics, (list, tuple)):
        spec = {str(m): {} for m in metrics}
    elif isinstance(metrics, dict):
        spec = {}
        for key, value in metrics.items():
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise InvalidInput(f"Rules of metric {key!r} must be a dict like "
                                   f"{{'min_delta': 0.01}}, got {value!r}.")
            spec[str(key)] = dict(value)
    else:
        raise InvalidInput(f"metrics must be a dict, a list of names or a name; got "
                           f"{type(metrics).__name__}.")
    if not spec:
        raise InvalidInput("A gate needs at least one metric.")
    known = sorted({*BUILTIN_METRICS, *custom})
    out: dict[str, dict[str, Any]] = {}
    for name, rules in spec.items():
        if name not in BUILTIN_METRICS and name not in custom:
            raise InvalidInput(f"Unknown metric {name!r}. Built in: {', '.join(known)}; or pass "
                               "custom_metrics={name: fn(y_true, y_pred)}.",
                               details={"metric": name, "known": known})
        unknown = sorted(set(rules) - set(OPTIONS))
        if unknown:
            raise InvalidInput(f"Unknown rule(s) {', '.join(unknown)} for metric {name!r}; use "
                               f"{', '.join(OPTIONS)}.", details={"metric": name})
        clean: dict[str, Any] = {}
        for key, value in rules.items():
            if key == "higher_is_better":
                if not isinstance(value, bool):
                    raise InvalidInput(f"higher_is_better of {name!r} must be true or false.")
                clean[key] = value
                continue
            if isinstance(value, bool) or _finite(value) is None:
                raise InvalidInput(f"Rule {key} of metric {name!r} must be a finite number, got "
                                   f"{value!r}.", details={"metric": name, "rule": key})
            clean[key] = float(value)
        if not any(k in clean for k in RULES):
            clean["min_delta"] = 0.0
        out[name] = clean
    return out


def _higher_is_better(name: str, rules: dict[str, Any]) -> bool:
    if "higher_is_better" in rules:
        return bool(rules["higher_is_better"])
    spec = BUILTIN_METRICS.get(name)
    return spec.higher_is_better if spec is not None else True


# -- scoring --------------------------------------------------------------------------------
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


# -- checking -------------------------------------------------------------------------------
def _check(metric: str, rules: dict[str, Any], challenger: float | None,
           champion: float | None, champion_label: str | None) -> list[MetricCheck]:
    higher = _higher_is_better(metric, rules)
    out: list[MetricCheck] = []
    for rule in RULES:
        if rule not in rules:
            continue
        threshold = float(rules[rule])
        if challenger is None:
            out.append(MetricCheck(metric, rule, threshold, None, champion, None, False,
                                   f"{metric} could not be computed for the challenger"))
            continue
        if rule == "min":
            ok = challenger >= threshold - EPS
            out.append(MetricCheck(metric, rule, threshold, challenger, champion, challenger, ok,
                                   f"{metric} {challenger:.4f} {'≥' if ok else '<'} "
                                   f"{threshold:g} (min)"))
            continue
        if rule == "max":
            ok = challenger <= threshold + EPS
            out.append(MetricCheck(metric, rule, threshold, challenger, champion, challenger, ok,
                                   f"{metric} {challenger:.4f} {'≤' if ok else '>'} "
                                   f"{threshold:g} (max)"))
            continue
        if champion_label is None:
            out.append(MetricCheck(metric, rule, threshold, challenger, None, None, None,
                                   f"{metric} {rule} {threshold:g} skipped: no champion yet"))
            continue
        if champion is None:
            out.append(MetricCheck(metric, rule, threshold, challenger, None, None, False,
                                   f"{metric} could not be computed for {champion_label}"))
            continue
        gain = (challenger - champion) if higher else (champion - challenger)
        direction = "higher" if higher else "lower"
        if rule == "min_delta":
            ok = gain >= threshold - EPS
            out.append(MetricCheck(
                metric, rule, threshold, challenger, champion, gain, ok,
                f"{metric} {challenger:.4f} vs {champion_label} {champion:.4f}: improvement "
                f"{gain:+.4f} ({direction} is better), needed ≥ {threshold:+g}"))
        else:
            relative = gain / abs(champion) if champion != 0 else (
                math.inf if gain > 0 else 0.0 if gain == 0 else -math.inf)
            ok = relative >= threshold - EPS
            out.append(MetricCheck(
                metric, rule, threshold, challenger, champion, relative, ok,
                f"{metric} {challenger:.4f} vs {champion_label} {champion:.4f}: relative "
                f"improvement {relative:+.2%} ({direction} is better), needed ≥ "
                f"{threshold:+.2%}"))
    return out


# -- the gate -------------------------------------------------------------------------------
def _resolve_side(ws: Workspace, name: str, which: Any, *, optional: bool) -> tuple[Any, str]:
    from .models import ModelVersion, fetch_version

    if isinstance(which, ModelVersion):
        if which.name != name:
            raise InvalidInput(f"{which} is not a version of {name!r}.")
        which = which.version
    number = as_version_number(which)
    if number is not None:
        return fetch_version(ws, ModelRef(name, version=number)), f"v{number}"
    if not isinstance(which, str):
        raise InvalidInput(f"Expected a version number or an alias, got {which!r}.")
    alias = validate_alias(which)
    return fetch_version(ws, ModelRef(name, alias=alias), missing_alias_ok=optional), alias


def gate(name: str, challenger: Any = "challenger", against: Any = "champion",
         dataset: Any = None, metrics: Any = None, *, target: str | None = None,
         promote: bool = False, custom_metrics: dict[str, Callable[..., float]] | None = None,
         task: str | None = None, pos_label: Any = None, alias: str | None = None,
         reason: str | None = None, workspace: Workspace | None = None) -> GateResult:
    """Score `challenger` and `against` on one held-out dataset version; decide; record.

    `challenger` / `against` are aliases or version numbers. `dataset` is
    `"name@version"` (a tag, a hash prefix or `latest`) or a DatasetVersion.
    With `promote=True` a passing challenger is moved to `alias` (default: the
    `against` alias, else `champion`); with no champion yet, a passing
    challenger becomes it regardless. The result is recorded either way.
    """
    from .aliases import move_alias

    ws = resolve_workspace(workspace)
    validate_model_name(name)
    if dataset is None:
        raise InvalidInput("A gate needs a held-out dataset version: dataset='holdout@v3'.")
    if task is not None and task not in TASKS:
        raise InvalidInput(f"task must be one of {', '.join(TASKS)}, got {task!r}.")
    custom = dict(custom_metrics or {})
    for key, fn in custom.items():
        if not callable(fn):
            raise InvalidInput(f"Custom metric {key!r} must be a function "
                               "fn(y_true, y_pred) -> float.")
    if alias is not None:
        validate_alias(alias)
    challenger_mv, challenger_ref = _resolve_side(ws, name, challenger, optional=False)
    champion_mv, champion_ref = _resolve_side(ws, name, against, optional=True)
    against_is_alias = as_version_number(against) is None and not hasattr(against, "version")
    if champion_mv is not None and int(champion_mv.version) == int(challenger_mv.version):
        raise InvalidInput(f"The challenger ({challenger_ref}) and {champion_ref} are the same "
                           f"version, v{challenger_mv.version}: nothing to compare.")
    version = resolve_dataset_version(dataset, ws)
    frame = read_frame(version, ws)
    ds_label = f"{version.name}@{version.short}"

    loaded_challenger = _load(ws, name, challenger_mv, challenger_ref)
    loaded_champion = (_load(ws, name, champion_mv, champion_ref)
                       if champion_mv is not None else None)
    columns = [str(c) for c in frame.columns]
    label = target
    if label is not None and label not in columns:
        raise InvalidInput(f"The label column {label!r} is not in {ds_label}; columns: "
                           f"{', '.join(columns)}.", details={"columns": columns})
    if label is None:
        label = _guess_target(columns, loaded_challenger.inputs)
    for loaded in (loaded_challenger, loaded_champion):
        if loaded is None or loaded.inputs is None:
            continue
        missing = [c for c in loaded.inputs if c not in columns]
        if missing:
            raise InvalidInput(
                f"Dataset {ds_label} lacks input column(s) of {name} v{loaded.version} "
                f"({loaded.ref}): {', '.join(missing)}.",
                details={"missing": missing, "dataset": dataset_ref(version),
                         "model": name, "version": loaded.version})
    data = frame[frame[label].notna()]
    if len(data) == 0:
        raise InvalidInput(f"Dataset {ds_label} has no rows with a label in {label!r}.")
    y = data[label]
    natives = [loaded_challenger.native, loaded_champion.native if loaded_champion else None]
    task = task or _detect_task(y, natives)
    spec = normalize_metrics(metrics, task, custom)
    # custom metrics without rules are scored and shown, like the built-in reported ones
    reported = [m for m in (*REPORTED[task], *custom) if m not in spec]

    def features(loaded: _Loaded) -> Any:
        return data[loaded.inputs] if loaded.inputs is not None else data.drop(columns=[label])

    y_values = y.to_numpy()
    scores = {"challenger": _score(loaded_challenger, name, features(loaded_challenger),
                                   y_values, task, list(spec), reported, custom, pos_label),
              "champion": None}
    if loaded_champion is not None:
        scores["champion"] = _score(loaded_champion, name, features(loaded_champion), y_values,
                                    task, list(spec), reported, custom, pos_label)
    champion_label = f"v{loaded_champion.version}" if loaded_champion is not None else None
    checks: list[MetricCheck] = []
    for metric, rules in spec.items():
        checks += _check(metric, rules, scores["challenger"].get(metric),
                         (scores["champion"] or {}).get(metric) if scores["champion"] else None,
                         champion_label)
    failed = [c for c in checks if c.passed is False]
    passed = not failed
    first_champion = champion_mv is None and against_is_alias
    reasons = [c.message for c in failed] if failed else [
        c.message for c in checks if c.passed]
    if first_champion:
        reasons.append(f"no @{champion_ref} yet: only absolute rules apply"
                       + ("" if any(c.rule in ("min", "max") for c in checks)
                          else " (none were set)"))
    target_alias = alias or (champion_ref if against_is_alias else "champion")
    do_promote = passed and (promote or first_champion)

    actor = current_actor()
    config = {m: dict(r) for m, r in spec.items()}
    with ws.session() as session:
        row = GateResultRow(
            model=name, challenger_version=int(challenger_mv.version),
            champion_version=int(champion_mv.version) if champion_mv is not None else None,
            challenger_ref=challenger_ref, champion_ref=champion_ref,
            dataset=dataset_ref(version), target=label, task=task, rows=int(len(data)),
            metrics_config=config, scores=scores, checks=[c.to_dict() for c in checks],
            passed=passed, reasons=reasons, promoted=False, promoted_alias=None, actor=actor,
            ts=utcnow())
        session.add(row)
        session.flush()
        gate_id = row.id
    try:
        if do_promote:
            why = f"gate #{gate_id} passed on {ds_label}" + (f": {reason}" if reason else "")
            if first_champion and not promote:
                why += " (first champion)"
            move_alias(ws, name, target_alias, int(challenger_mv.version), via="gate",
                       reason=why, gate_id=gate_id)
            with ws.session() as session:
                stored = session.get(GateResultRow, gate_id)
                stored.promoted, stored.promoted_alias = True, target_alias
    finally:
        with ws.session() as session:
            result = _result(session.get(GateResultRow, gate_id))
        result.first_champion = first_champion
        record_event(ws, "registry.gate",
                     f"{name}: v{result.challenger} vs "
                     f"{'v' + str(result.champion) if result.champion else 'no champion'} on "
                     f"{ds_label}: {result.verdict()}", subject=name,
                     data=result.to_dict(), actor=actor)
        _tag_version(ws, name, int(challenger_mv.version), result)
    return result


def _tag_version(ws: Workspace, name: str, version: int, result: GateResult) -> None:
    """The last gate's verdict on the version itself, for people reading MLflow's UI."""
    try:
        client_of(ws).set_model_version_tag(
            name, str(version), "mlops.gate",
            f"#{result.id} {'passed' if result.passed else 'rejected'} on {result.dataset}")
    except Exception:
        pass


def list_gate_results(name: str | None = None, *, limit: int = 50,
                      workspace: Workspace | None = None) -> list[GateResult]:
    """Recorded gate decisions, newest first (of one model, or of all)."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit}.")
    ws = resolve_workspace(workspace)
    query = select(GateResultRow).order_by(GateResultRow.id.desc()).limit(limit)
    if name is not None:
        validate_model_name(name)
        query = query.where(GateResultRow.model == name)
    with ws.session() as session:
        return [_result(row) for row in session.scalars(query)]


def get_gate_result(gate_id: int, *, workspace: Workspace | None = None) -> GateResult:
    ws = resolve_workspace(workspace)
    with ws.session() as session:
        row = session.get(GateResultRow, int(gate_id))
        if row is None:
            last = session.scalar(select(GateResultRow.id).order_by(GateResultRow.id.desc()))
            raise NotFound(f"Gate result #{gate_id} not found"
                           + (f"; the latest is #{last}." if last else "; no gate has run yet."),
                           details={"gate_id": gate_id, "latest": last})
        return _result(row)


__all__ = ["BUILTIN_METRICS", "GateResult", "MetricCheck", "gate", "get_gate_result",
           "list_gate_results", "normalize_metrics"]
