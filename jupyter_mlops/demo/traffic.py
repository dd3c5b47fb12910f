"""Customers sent to a deployment from a background thread, as a production caller would.

The demo needs traffic while things happen elsewhere (a monitor checks the
log, a canary is judged on the requests it answers), so this is a thread that
posts batches of today's customers of the `Market` to `/invocations` until it
is stopped. It follows the market: after `Market.change()` the next batches
are the shifted customers.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from ..examples.churn import Market


class Traffic(threading.Thread):
    """Batches of `batch` customers every `interval` seconds, on one keep-alive connection."""

    def __init__(self, url: str, market: Market, *, batch: int = 50, interval: float = 0.1,
                 seed: int = 10_000, timeout: float = 30.0) -> None:
        super().__init__(daemon=True, name="mlops-demo-traffic")
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.market, self.batch, self.interval, self.timeout = market, batch, interval, timeout
        self.seed = seed
        self.sent_rows = 0
        self.statuses: Counter[int] = Counter()
        self.versions: Counter[str] = Counter()
        self.failures: list[str] = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def _body(self, seed: int) -> bytes:
        frame = self.market.customers(self.batch, seed=seed)
        return ('{"dataframe_split": ' + frame.to_json(orient="split", index=False)
                + "}").encode()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        seed = self.seed
        while not self._halt.is_set():
            seed += 1
            try:
                conn.request("POST", "/invocations", self._body(seed),
                             {"content-type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                with self._lock:
                    self.statuses[answer.status] += 1
                    self.versions[answer.getheader("x-mlops-version") or "?"] += 1
                    if 200 <= answer.status < 300:
                        self.sent_rows += self.batch
            except Exception as exc:  # a caller counts what got no answer, and goes on
                with self._lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._halt.wait(0.5)
            self._halt.wait(self.interval)
        conn.close()

    def rows(self) -> int:
        with self._lock:
            return self.sent_rows

    def wait_rows(self, rows: int, timeout: float = 60.0) -> int:
        """Block until `rows` more rows were answered (or `timeout`); returns the rows sent."""
        target = self.rows() + rows
        deadline = time.monotonic() + timeout
        while self.rows() < target and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.05)
        return self.rows()

    def summary(self) -> dict[str, object]:
        with self._lock:
            return {"rows": self.sent_rows, "requests": sum(self.statuses.values()),
                    "statuses": dict(self.statuses), "versions": dict(self.versions),
                    "failures": len(self.failures)}

    def stop(self) -> Traffic:
        self._halt.set()
        if self.is_alive():
            self.join(30)
        return self
