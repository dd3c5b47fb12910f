"""A small load generator for deployments: tests, demos and the router benchmark.

Stdlib only (`http.client` on keep-alive connections, one per thread): no
dependency, and cheap enough per request that on a 2-core machine it leaves
the CPU to the router and the model servers being measured. Every answer is
recorded (status, the `X-MLOps-Version` that answered, latency), and so is
every request that got no answer at all. Load is bounded: by a number of
requests or a duration, whichever comes first.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from typing import Any


def _split(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
    return host, int(port or 80)


def post(url: str, body: bytes, headers: dict[str, str] | None = None,
         path: str = "/invocations", timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, lower-case headers, body)."""
    host, port = _split(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body, {"content-type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


@dataclass
class Result:
    """What one load run saw."""

    results: list[tuple[float, int, str | None, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for _, status, _, _ in self.results:
            counts[status] = counts.get(status, 0) + 1
        return counts

    @property
    def versions(self) -> list[str | None]:
        return [version for _, _, version, _ in self.results]

    def latencies_ms(self) -> list[float]:
        return [latency for _, _, _, latency in self.results]


class Load(threading.Thread):
    """Sequential requests on one keep-alive connection until stopped or bounded.

    `results` holds (time, status, version, latency ms); `failures` the
    requests that got no HTTP answer (refused, reset, timed out).
    """

    def __init__(self, url: str, body: bytes, headers: dict[str, str] | None = None, *,
                 max_requests: int | None = None, duration: float | None = None,
                 timeout: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.url, self.body, self.headers = url, body, dict(headers or {})
        self.max_requests, self.duration, self.timeout = max_requests, duration, timeout
        self.outcome = Result()
        self._halt = threading.Event()

    @property
    def results(self) -> list[tuple[int, str | None]]:
        return [(status, version) for _, status, version, _ in self.outcome.results]

    @property
    def failures(self) -> list[str]:
        return self.outcome.failures

    def run(self) -> None:
        host, port = _split(self.url)
        conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        headers = {"content-type": "application/json", **self.headers}
        started = time.perf_counter()
        sent = 0
        record = self.outcome.results.append
        while not self._halt.is_set():
            if self.max_requests is not None and sent >= self.max_requests:
                break
            if self.duration is not None and time.perf_counter() - started >= self.duration:
                break
            sent += 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/invocations", self.body, headers)
                answer = conn.getresponse()
                answer.read()
                record((t0, answer.status, answer.getheader("x-mlops-version"),
                        (time.perf_counter() - t0) * 1000.0))
            except Exception as exc:  # a request without an answer is what callers count
                self.outcome.failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        conn.close()

    def stop(self) -> Load:
        self._halt.set()
        self.join(60)
        return self


def run_load(url: str, body: bytes, *, requests: int, concurrency: int = 1,
             headers: dict[str, str] | None = None, duration: float | None = None) -> Result:
    """`requests` split over `concurrency` threads (bounded by `duration` too)."""
    per_thread = [requests // concurrency + (1 if i < requests % concurrency else 0)
                  for i in range(concurrency)]
    threads = [Load(url, body, headers, max_requests=n, duration=duration) for n in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = Result()
    for thread in threads:
        merged.results.extend(thread.outcome.results)
        merged.failures.extend(thread.outcome.failures)
    merged.results.sort(key=lambda item: item[0])
    return merged


def summary(values: list[float]) -> dict[str, Any]:
    """p50/p95/p99/mean of latencies in ms."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {"n": len(ordered), "p50": q(0.5), "p95": q(0.95), "p99": q(0.99),
            "mean": sum(ordered) / len(ordered)}
