"""Release strategies: their parameters, and how each splits traffic.

A deployment has a *stable* version (the champion, the blue colour) and at
most one *candidate* (the challenger: green, canary, B, shadow); the
previous stable may stay warm as *standby* so that a rollback is instant.

- `single`: the stable answers everything; when it is down, a 503 naming it.
- `blue_green`: the stable answers everything until the atomic switch; the
  candidate (green) answers only requests naming it in `X-MLOps-Route`;
  no fallback (a colour is all or nothing).
- `canary`: the candidate's share steps up (5 → 25 → 50 → 100 %); each
  version falls back to the other when it is down.
- `ab`: fixed weights, sticky by a request header's value; fallback too.
- `shadow`: the stable answers everything; a mirrored copy goes to the
  candidate, whose answer is only logged and compared; no fallback.

This module is pure (no I/O): the supervisor builds a `RoutingTable` from
the deployment's state, the router reads it on every request, and a change
is one attribute assignment, so a switch is atomic for every request that
starts after it.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InvalidInput

KINDS = ("single", "blue_green", "canary", "ab", "shadow")

#: header a caller sets to reach one version directly (smoke tests of a green colour)
ROUTE_HEADER = "X-MLOps-Route"
#: default header whose value keeps an A/B caller on one side
STICKY_HEADER = "X-MLOps-Key"

_ALIASES = {"blue-green": "blue_green", "bluegreen": "blue_green", "a/b": "ab",
            "a_b": "ab", "abtest": "ab", "ab_test": "ab", "mirror": "shadow",
            "replace": "single", "none": "single"}


@dataclass(frozen=True)
class StrategySpec:
    """A validated strategy with every parameter filled in."""

    kind: str = "single"
    #: canary: traffic percentages of the candidate, the last one 100
    steps: tuple[float, ...] = (5.0, 25.0, 50.0, 100.0)
    #: canary: seconds each step bakes before the next
    bake: float = 60.0
    #: canary: roll back when the candidate's error rate exceeds the stable's by this much
    max_error_rate_increase: float = 0.05
    #: canary: ... or its p95 latency exceeds the stable's by this fraction ...
    max_latency_increase: float = 0.5
    #: ... plus this many milliseconds (so that 2 ms vs 3 ms is no regression)
    latency_slack_ms: float = 5.0
    #: canary: requests the candidate must have answered in a step before it is judged
    min_requests: int = 20
    #: canary: roll back automatically on a breach (False: only report it)
    auto_rollback: bool = True
    #: ab: percentages of (stable, candidate)
    weights: tuple[float, float] = (50.0, 50.0)
    #: ab (and canary when present): the request header that keeps a caller on one side
    sticky_header: str = STICKY_HEADER
    #: shadow: share of requests mirrored to the candidate (0..1]
    mirror_fraction: float = 1.0
    #: shadow: mirrored requests in flight at most; more are dropped, never queued
    max_mirror_inflight: int = 64
    #: blue_green: switch as soon as the new colour is healthy (a redeploy without a strategy)
    auto_promote: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Only what matters for the kind, JSON-ready."""
        data = asdict(self)
        keep = {"kind"} | set(_PARAMS.get(self.kind, ()))
        return {key: (list(value) if isinstance(value, tuple) else value)
                for key, value in data.items() if key in keep}

    def describe(self) -> str:
        if self.kind == "canary":
            steps = "→".join(f"{s:g}" for s in self.steps)
            return f"canary {steps} % (bake {self.bake:g} s)"
        if self.kind == "ab":
            return f"A/B {self.weights[0]:g}/{self.weights[1]:g} (sticky by {self.sticky_header})"
        if self.kind == "shadow":
            return f"shadow ({self.mirror_fraction:.0%} mirrored)"
        if self.kind == "blue_green":
            return "blue-green" + (" (switch when healthy)" if self.auto_promote else "")
        return "single version"


_PARAMS: dict[str, tuple[str, ...]] = {
    "single": (),
    "blue_green": ("auto_promote",),
    "canary": ("steps", "bake", "max_error_rate_increase", "max_latency_increase",
               "latency_slack_ms", "min_requests", "auto_rollback", "sticky_header"),
    "ab": ("weights", "sticky_header"),
    "shadow": ("mirror_fraction", "max_mirror_inflight"),
}


def parse_strategy(strategy: Any = None, **params: Any) -> StrategySpec:
    """`"canary"`, `{"kind": "canary", "steps": [5, 50, 100]}`, a `StrategySpec`, or None.

    Keyword parameters override those of `strategy`; unknown ones are refused
    with the list of what the kind accepts.
    """
    if isinstance(strategy, StrategySpec):
        base: dict[str, Any] = strategy.to_dict()
    elif strategy is None:
        base = {"kind": "single"}
    elif isinstance(strategy, str):
        base = {"kind": strategy}
    elif isinstance(strategy, dict):
        base = dict(strategy)
    else:
        raise InvalidInput(f"A strategy is a name or a dict, got {type(strategy).__name__}.")
    base.update({key: value for key, value in params.items() if value is not None})
    kind = str(base.pop("kind", "single") or "single").strip().lower()
    kind = _ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise InvalidInput(f"Unknown strategy {kind!r}; use one of {', '.join(KINDS)}.",
                           details={"strategy": kind})
    allowed = _PARAMS[kind]
    unknown = sorted(set(base) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Strategy {kind!r} takes {', '.join(allowed) or 'no parameters'}; "
            f"not {', '.join(unknown)}.", details={"strategy": kind, "unknown": unknown})
    values: dict[str, Any] = {"kind": kind}
    for key, value in base.items():
        values[key] = _CHECKS[key](value)
    spec = StrategySpec(**values)
    if kind == "canary" and spec.steps[-1] != 100.0:
        spec = StrategySpec(**{**values, "steps": (*spec.steps, 100.0)})
    return spec


def _number(name: str, low: float, high: float, *, integer: bool = False) -> Any:
    def check(value: Any) -> Any:
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{name} must be a number, got {value!r}.") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise InvalidInput(f"{name} must be between {low:g} and {high:g}, got {value!r}.")
        return number
    return check


def _steps(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        value = [part for part in value.replace("→", ",").split(",") if part.strip()]
    try:
        steps = tuple(float(step) for step in value)
    except (TypeError, ValueError):
        raise InvalidInput(f"steps must be percentages like [5, 25, 50, 100], got {value!r}.") \
            from None
    if not steps or any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise InvalidInput(f"steps must rise strictly within (0, 100], got {list(steps)}.")
    return steps


def _weights(value: Any) -> tuple[float, float]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [100.0 - float(value), float(value)]
    try:
        weights = tuple(float(w) for w in value)
    except (TypeError, ValueError):
        raise InvalidInput(f"weights must be two percentages, got {value!r}.") from None
    if len(weights) != 2 or any(w < 0 for w in weights) or abs(sum(weights) - 100) > 1e-6:
        raise InvalidInput(f"weights must be two percentages adding up to 100 (stable, "
                           f"candidate), got {list(weights)}.")
    return weights  # type: ignore[return-value]


def _header_name(value: Any) -> str:
    text = str(value or "").strip()
    if not text or any(c in text for c in " :\r\n\t") or len(text) > 128:
        raise InvalidInput(f"sticky_header must be an HTTP header name, got {value!r}.")
    return text


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


_CHECKS = {
    "steps": _steps,
    "bake": _number("bake", 0, 7 * 86400),
    "max_error_rate_increase": _number("max_error_rate_increase", 0, 1),
    "max_latency_increase": _number("max_latency_increase", 0, 100),
    "latency_slack_ms": _number("latency_slack_ms", 0, 600_000),
    "min_requests": _number("min_requests", 1, 10_000_000, integer=True),
    "auto_rollback": _flag,
    "weights": _weights,
    "sticky_header": _header_name,
    "mirror_fraction": _number("mirror_fraction", 0.0001, 1),
    "max_mirror_inflight": _number("max_mirror_inflight", 1, 100_000, integer=True),
    "auto_promote": _flag,
}


# -- routing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoutingTable:
    """Who answers: what the router reads on every request (replaced, never mutated)."""

    kind: str
    #: (version key, percent of live traffic), stable first
    weights: tuple[tuple[str, float], ...]
    primary: str
    mirror: str | None = None
    mirror_fraction: float = 1.0
    fallback: bool = False
    sticky_header: bytes | None = None
    picker: WeightedPicker = field(default=None, compare=False, repr=False)  # type: ignore

    def __post_init__(self) -> None:
        object.__setattr__(self, "picker", WeightedPicker(self.weights))


def routing_table(spec: StrategySpec, stable: str, candidate: str | None,
                  canary_weight: float = 0.0) -> RoutingTable:
    """The table for a strategy given the stable and candidate version keys."""
    kind = spec.kind if candidate else "single"
    if kind == "canary":
        weight = max(0.0, min(100.0, canary_weight))
        return RoutingTable("canary", ((stable, 100.0 - weight), (candidate, weight)), stable,
                            fallback=True, sticky_header=_sticky(spec))
    if kind == "ab":
        return RoutingTable("ab", ((stable, spec.weights[0]), (candidate, spec.weights[1])),
                            stable, fallback=True, sticky_header=_sticky(spec))
    if kind == "shadow":
        return RoutingTable("shadow", ((stable, 100.0),), stable, mirror=candidate,
                            mirror_fraction=spec.mirror_fraction)
    if kind == "blue_green":
        return RoutingTable("blue_green", ((stable, 100.0), (candidate, 0.0)), stable)
    return RoutingTable("single", ((stable, 100.0),), stable)


def _sticky(spec: StrategySpec) -> bytes:
    """Requests carrying this header are bucketed by its value; others are spread evenly."""
    return spec.sticky_header.lower().encode()


class WeightedPicker:
    """Smooth weighted round robin (exact shares, evenly spread), or a hash bucket when a
    sticky key is given (the same key lands on the same version while weights hold)."""

    __slots__ = ("keys", "weights", "current", "total", "cumulative")

    def __init__(self, weights: tuple[tuple[str, float], ...]) -> None:
        live = [(key, w) for key, w in weights if w > 0]
        self.keys = [key for key, _ in live]
        self.weights = [w for _, w in live]
        self.current = [0.0] * len(live)
        self.total = sum(self.weights)
        running = 0.0
        self.cumulative = []
        for w in self.weights:
            running += w
            self.cumulative.append(running)

    def pick(self) -> str | None:
        keys = self.keys
        if len(keys) == 1:
            return keys[0]
        if not keys:
            return None
        current = self.current
        weights = self.weights
        best = 0
        for i in range(len(keys)):
            current[i] += weights[i]
            if current[i] > current[best]:
                best = i
        current[best] -= self.total
        return keys[best]

    def pick_sticky(self, key: bytes) -> str | None:
        if not self.keys:
            return None
        point = (zlib.crc32(key) % 1_000_000) / 1_000_000 * self.total
        for name, edge in zip(self.keys, self.cumulative):
            if point < edge:
                return name
        return self.keys[-1]
