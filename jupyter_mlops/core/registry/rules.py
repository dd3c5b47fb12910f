"""The gate's rules: normalising what a caller asks for, and applying it to two scores.

Per metric: `min` / `max` (absolute, on the challenger), `min_delta` (the
improvement over the champion in the metric's better direction),
`min_relative` (the same as a fraction of the champion's score),
`higher_is_better` (the direction, for custom metrics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput
from .metrics import BUILTIN_METRICS, DEFAULT_METRICS, _finite
from .results import MetricCheck

RULES = ("min", "max", "min_delta", "min_relative")
OPTIONS = (*RULES, "higher_is_better")
EPS = 1e-12


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
