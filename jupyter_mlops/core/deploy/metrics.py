"""Per-version request figures the router keeps in memory: rate, errors, latency.

Recording is one `deque.append` on the request path; the figures (p50/p95,
error rate) are computed when asked, at most a few times a second, over a
time window. An *error* is a 5xx answer or no answer at all (the version was
down or timed out): a 4xx is the caller's malformed request, not the
version's fault, and is counted separately.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

#: samples kept per version (at 1,000 requests/s, almost a minute)
MAX_SAMPLES = 50_000


@dataclass(frozen=True)
class WindowStats:
    requests: int
    errors: int
    client_errors: int
    rate_per_s: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    window_s: float

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {"requests": self.requests, "errors": self.errors,
                "client_errors": self.client_errors, "rate_per_s": round(self.rate_per_s, 3),
                "error_rate": round(self.error_rate, 4), "p50_ms": rounded(self.p50_ms),
                "p95_ms": rounded(self.p95_ms), "window_s": self.window_s}


EMPTY = WindowStats(0, 0, 0, 0.0, 0.0, None, None, 0.0)


class VersionStats:
    """Samples of (monotonic time, latency ms, outcome) with lifetime totals."""

    __slots__ = ("samples", "total", "total_errors", "total_client_errors", "inflight",
                 "mirrored", "mirror_dropped", "warm_after", "warm_at")

    #: a new version's first requests are slow (lazy imports on the first predictions):
    #: latency is judged only from this many requests on
    WARMUP_REQUESTS = 10

    OK, CLIENT_ERROR, ERROR = 0, 1, 2

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, int]] = deque(maxlen=MAX_SAMPLES)
        self.total = 0
        self.total_errors = 0
        self.total_client_errors = 0
        self.inflight = 0
        self.mirrored = 0
        self.mirror_dropped = 0
        self.warm_after = self.WARMUP_REQUESTS
        self.warm_at: float | None = None

    def record(self, latency_ms: float, status: int, now: float | None = None) -> None:
        outcome = self.ERROR if status >= 500 or status == 0 else (
            self.CLIENT_ERROR if status >= 400 else self.OK)
        stamp = time.monotonic() if now is None else now
        self.samples.append((stamp, latency_ms, outcome))
        self.total += 1
        if self.warm_at is None and self.total >= self.warm_after:
            self.warm_at = stamp
        if outcome == self.ERROR:
            self.total_errors += 1
        elif outcome == self.CLIENT_ERROR:
            self.total_client_errors += 1

    def window(self, seconds: float = 60.0, *, since: float | None = None,
               now: float | None = None) -> WindowStats:
        """Figures over the last `seconds` (or since a monotonic time, whichever is later)."""
        now = time.monotonic() if now is None else now
        cutoff = now - seconds
        if since is not None and since > cutoff:
            cutoff = since
        latencies: list[float] = []
        errors = client_errors = 0
        for t, latency, outcome in reversed(self.samples):
            if t < cutoff:
                break
            latencies.append(latency)
            if outcome == self.ERROR:
                errors += 1
            elif outcome == self.CLIENT_ERROR:
                client_errors += 1
        n = len(latencies)
        span = max(now - cutoff, 1e-9)
        if not n:
            return WindowStats(0, 0, 0, 0.0, 0.0, None, None, round(span, 3))
        latencies.sort()
        return WindowStats(
            requests=n, errors=errors, client_errors=client_errors, rate_per_s=n / span,
            error_rate=errors / n, p50_ms=_quantile(latencies, 0.50),
            p95_ms=_quantile(latencies, 0.95), window_s=round(span, 3))

    def totals(self) -> dict[str, int]:
        return {"requests": self.total, "errors": self.total_errors,
                "client_errors": self.total_client_errors, "inflight": self.inflight,
                "mirrored": self.mirrored, "mirror_dropped": self.mirror_dropped}


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True)
class CanaryVerdict:
    """What the canary analysis concluded for one look at the figures."""

    breach: bool
    judged: bool
    reason: str
    canary: WindowStats
    stable: WindowStats

    def to_dict(self) -> dict[str, Any]:
        return {"breach": self.breach, "judged": self.judged, "reason": self.reason,
                "canary": self.canary.to_dict(), "stable": self.stable.to_dict()}


def judge_canary(canary: WindowStats, stable: WindowStats, *, min_requests: int,
                 max_error_rate_increase: float, max_latency_increase: float,
                 latency_slack_ms: float,
                 canary_latency: WindowStats | None = None) -> CanaryVerdict:
    """Breach when the canary's error rate or p95 exceeds the stable's by the margins.

    Nothing is judged before the canary answered `min_requests`; latency is
    compared only when the stable has answered as many too, and on
    `canary_latency` when given (the canary's figures without its warm-up
    requests, which are slow for reasons a rollback would not fix).
    """
    if canary.requests < min_requests:
        return CanaryVerdict(False, False, f"waiting for {min_requests} canary requests "
                             f"({canary.requests} so far)", canary, stable)
    limit = stable.error_rate + max_error_rate_increase
    if canary.error_rate > limit:
        return CanaryVerdict(True, True, (
            f"canary error rate {canary.error_rate:.1%} exceeds the stable's "
            f"{stable.error_rate:.1%} by more than {max_error_rate_increase:.1%}"),
            canary, stable)
    warm = canary if canary_latency is None else canary_latency
    if (stable.requests >= min_requests and warm.requests >= min_requests
            and warm.p95_ms is not None and stable.p95_ms is not None):
        latency_limit = stable.p95_ms * (1 + max_latency_increase) + latency_slack_ms
        if warm.p95_ms > latency_limit:
            return CanaryVerdict(True, True, (
                f"canary p95 latency {warm.p95_ms:.1f} ms exceeds the stable's "
                f"{stable.p95_ms:.1f} ms by more than {max_latency_increase:.0%} + "
                f"{latency_slack_ms:g} ms"), canary, stable)
    return CanaryVerdict(False, True, "within margins", canary, stable)
