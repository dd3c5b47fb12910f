"""The router: one stable endpoint per deployment in front of its model versions.

A bare ASGI app (no framework on the request path: the whole budget is
≤ 1 ms added at p50), served by uvicorn in the deployment's own process
(`router_main.py`), forwarding to the versions over pooled keep-alive
connections (`upstream.py`). What it does on each `POST /invocations`:

1. picks a version from the current `RoutingTable` (`strategies.py`):
   weighted (smooth round robin, exact shares), sticky by a header's value,
   or the one named by `X-MLOps-Route: <model>/<version>` (to try a green
   colour or a standby before switching);
2. forwards the body and the content type; a version that cannot be
   reached is marked unhealthy at once, and the request goes to a healthy
   version where the strategy allows it (canary, A/B), else the caller gets
   `503 {"error_code": "VERSION_UNAVAILABLE", "version": ...}`;
3. answers with the model server's status and body unchanged (so a
   malformed request gets MLflow's 4xx, not a 500 from us) and the header
   `X-MLOps-Version: <model>/<version>` naming who answered;
4. appends the request, the answer, the version, latency and status to the
   prediction log, before the answer is sent (a graceful stop flushes it);
5. in `shadow`, mirrors the request to the candidate after answering; the
   mirror's answer is only logged (`shadow=True`, same request id).

Control (`/-/mlops/status`, `/-/mlops/command`) is delegated to the
deployment's supervisor, which owns the versions and replaces the table.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .metrics import VersionStats
from .predictions import PredictionLog
from .strategies import RoutingTable
from .upstream import Upstream, UpstreamError

ADMIN_PREFIX = "/-/mlops/"
_JSON = b"application/json"
_FORWARDED_GETS = ("/version", "/metadata")


class VersionRuntime:
    """What the router knows about one version: where it is, whether it answers, figures."""

    __slots__ = ("key", "role", "upstream", "stats", "healthy", "reason", "host", "port")

    def __init__(self, key: str, role: str, host: str, port: int) -> None:
        self.key = key
        self.role = role
        self.host = host
        self.port = port
        self.upstream = Upstream(host, port)
        self.stats = VersionStats()
        self.healthy = True
        self.reason: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


AdminHandler = Callable[[str, str, bytes, dict[str, str]], Awaitable[tuple[int, Any]]]


class Router:
    """The ASGI app. `table` and `versions` are replaced, never mutated in place."""

    def __init__(self, deployment: str, *, log: PredictionLog | None = None,
                 admin: AdminHandler | None = None, request_timeout: float = 60.0,
                 on_unreachable: Callable[[str, str], None] | None = None) -> None:
        self.deployment = deployment
        self.log = log
        self.admin = admin
        self.request_timeout = request_timeout
        self.on_unreachable = on_unreachable
        #: shadow: mirrored requests in flight at most; more are dropped, never queued
        self.max_mirror_inflight = 64
        self.table: RoutingTable | None = None
        self.versions: dict[str, VersionRuntime] = {}
        self._mirrors: set[asyncio.Task[None]] = set()
        self.started = time.time()

    # -- configuration (called by the supervisor) --------------------------------------------
    def install(self, table: RoutingTable | None, versions: dict[str, VersionRuntime]) -> None:
        """Atomic for requests: each reads `self.table` once."""
        self.versions = versions
        self.table = table

    def mark(self, key: str, healthy: bool, reason: str | None = None) -> bool:
        """Set a version's health; True when it changed."""
        runtime = self.versions.get(key)
        if runtime is None or runtime.healthy == healthy:
            return False
        runtime.healthy = healthy
        runtime.reason = reason
        return True

    async def drain_mirrors(self, timeout: float = 5.0) -> None:
        if self._mirrors:
            await asyncio.wait(list(self._mirrors), timeout=timeout)

    # -- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path == "/invocations" and scope["method"] == "POST":
                await self._invocations(scope, receive, send)
            elif path.startswith(ADMIN_PREFIX):
                await self._admin(scope, receive, send)
            else:
                await self._other(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.drain_mirrors()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _invocations(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await _read_body(receive)
        table = self.table
        content_type = _JSON
        route = sticky = request_id = None
        sticky_name = table.sticky_header if table is not None else None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"x-mlops-route":
                route = value
            elif name == b"x-request-id":
                request_id = value
            elif name == sticky_name:
                sticky = value
        request_id = (request_id or os.urandom(8).hex().encode())[:128]
        if table is None:
            await _reply(send, 503, _error("NOT_READY", f"Deployment {self.deployment} has no "
                                           "version serving yet."), b"", request_id)
            return
        versions = self.versions
        if route is not None:
            runtime = versions.get(route.decode("latin-1"))
            if runtime is None:
                await _reply(send, 404, _error(
                    "UNKNOWN_VERSION", f"Deployment {self.deployment} has no version "
                    f"{route.decode('latin-1')!r}; it has {', '.join(versions)}."),
                    b"", request_id)
                return
            fallback = False
        else:
            key = (table.picker.pick_sticky(sticky) if sticky is not None
                   else table.picker.pick())
            runtime = versions.get(key) if key is not None else None
            fallback = table.fallback
            if runtime is None:
                await self._unavailable(send, key or table.primary, "not running", request_id,
                                        body, content_type)
                return
            if not runtime.healthy:
                alternative = self._alternative(table, runtime.key) if fallback else None
                if alternative is None:
                    await self._unavailable(send, runtime.key, runtime.reason or "unhealthy",
                                            request_id, body, content_type)
                    return
                runtime = alternative

        headers = [(b"content-type", content_type), (b"x-request-id", request_id)]
        while True:
            stats = runtime.stats
            stats.inflight += 1
            started = time.perf_counter()
            try:
                status, answer_headers, answer = await runtime.upstream.request(
                    b"POST", b"/invocations", body, headers, self.request_timeout)
                error = None
            except UpstreamError as exc:
                status, answer_headers, answer, error = 0, [], b"", exc
            finally:
                stats.inflight -= 1
            latency_ms = (time.perf_counter() - started) * 1000.0
            if error is None:
                break
            stats.record(latency_ms, 0)
            if error.kind == "connect":
                if self.mark(runtime.key, False, str(error)) and self.on_unreachable:
                    self.on_unreachable(runtime.key, str(error))
                alternative = self._alternative(table, runtime.key) if fallback else None
                if alternative is not None:
                    runtime = alternative
                    continue
                await self._unavailable(send, runtime.key, str(error), request_id, body,
                                        content_type, latency_ms)
                return
            # a timeout: the version is alive but too slow; not retried (it may still work)
            payload = _error("VERSION_TIMEOUT", f"Version {runtime.key} of deployment "
                             f"{self.deployment} did not answer in time: {error}",
                             version=runtime.key)
            self._log(request_id, runtime, 504, latency_ms, False, content_type, body, payload,
                      str(error))
            await _reply(send, 504, payload, runtime.key.encode(), request_id)
            return

        stats.record(latency_ms, status)
        answer_type = _JSON
        for name, value in answer_headers:
            if name == b"content-type":
                answer_type = value
                break
        self._log(request_id, runtime, status, latency_ms, False, content_type, body, answer,
                  None)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", answer_type), (b"content-length", b"%d" % len(answer)),
            (b"x-mlops-version", runtime.key.encode()), (b"x-request-id", request_id)]})
        await send({"type": "http.response.body", "body": answer})

        mirror = table.mirror
        if mirror is not None and route is None and (
                table.mirror_fraction >= 1.0 or random.random() < table.mirror_fraction):
            self._start_mirror(mirror, body, headers, content_type, request_id)

    def _alternative(self, table: RoutingTable, failed: str) -> VersionRuntime | None:
        """A healthy version with live traffic other than `failed` (stable first)."""
        for key, weight in table.weights:
            if key == failed or weight <= 0:
                continue
            runtime = self.versions.get(key)
            if runtime is not None and runtime.healthy:
                return runtime
        for key, _ in table.weights:  # a version at 0 % that is part of the rollout
            runtime = self.versions.get(key)
            if key != failed and runtime is not None and runtime.healthy:
                return runtime
        return None

    async def _unavailable(self, send: Any, key: str, reason: str, request_id: bytes,
                           body: bytes, content_type: bytes, latency_ms: float = 0.0) -> None:
        payload = _error("VERSION_UNAVAILABLE", f"Version {key} of deployment "
                         f"{self.deployment} is unavailable: {reason}", version=key)
        runtime = self.versions.get(key)
        if runtime is not None:
            self._log(request_id, runtime, 503, latency_ms, False, content_type, body, payload,
                      reason)
        elif self.log is not None:
            self.log.append(time.time(), request_id.decode("latin-1"), key, "", 503,
                            latency_ms, False, content_type.decode("latin-1"), body, payload,
                            reason)
        await _reply(send, 503, payload, key.encode(), request_id)

    def _log(self, request_id: bytes, runtime: VersionRuntime, status: int, latency_ms: float,
             shadow: bool, content_type: bytes, body: bytes, answer: bytes,
             error: str | None) -> None:
        if self.log is not None:
            self.log.append(time.time(), request_id.decode("latin-1"), runtime.key, runtime.role,
                            status, latency_ms, shadow, content_type.decode("latin-1"), body,
                            answer, error)

    # -- shadow ------------------------------------------------------------------------------
    def _start_mirror(self, key: str, body: bytes, headers: list[tuple[bytes, bytes]],
                      content_type: bytes, request_id: bytes) -> None:
        runtime = self.versions.get(key)
        if runtime is None or not runtime.healthy:
            return
        if runtime.stats.inflight >= self.max_mirror_inflight:
            runtime.stats.mirror_dropped += 1  # never queue: the champion's callers come first
            return
        task = asyncio.ensure_future(self._mirror(runtime, body, headers, content_type,
                                                  request_id))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)

    async def _mirror(self, runtime: VersionRuntime, body: bytes,
                      headers: list[tuple[bytes, bytes]], content_type: bytes,
                      request_id: bytes) -> None:
        stats = runtime.stats
        stats.inflight += 1
        stats.mirrored += 1
        started = time.perf_counter()
        error = None
        try:
            status, _, answer = await runtime.upstream.request(
                b"POST", b"/invocations", body, headers, self.request_timeout)
        except UpstreamError as exc:
            status, answer, error = 0, b"", str(exc)
            if exc.kind == "connect" and self.mark(runtime.key, False, str(exc)) \
                    and self.on_unreachable:
                self.on_unreachable(runtime.key, str(exc))
        finally:
            stats.inflight -= 1
        latency_ms = (time.perf_counter() - started) * 1000.0
        stats.record(latency_ms, status)
        self._log(request_id, runtime, status, latency_ms, True, content_type, body, answer,
                  error)

    # -- everything else ---------------------------------------------------------------------
    async def _other(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        request_id = os.urandom(8).hex().encode()
        table = self.table
        if path in ("/ping", "/health") and method in ("GET", "HEAD"):
            live = [] if table is None else [
                key for key, weight in table.weights
                if weight > 0 and key in self.versions and self.versions[key].healthy]
            status = 200 if live else 503
            if path == "/ping":
                await _reply(send, status, b"\n", b"", request_id)
                return
            document = {"status": "ok" if live else "unavailable",
                        "deployment": self.deployment,
                        "strategy": table.kind if table else None,
                        "versions": {key: {"role": rt.role, "healthy": rt.healthy,
                                           "reason": rt.reason}
                                     for key, rt in self.versions.items()}}
            await _reply(send, status, json.dumps(document).encode(), b"", request_id)
            return
        if path in _FORWARDED_GETS and method == "GET" and table is not None:
            runtime = self.versions.get(table.primary)
            if runtime is not None:
                try:
                    status, headers, answer = await runtime.upstream.request(
                        b"GET", path.encode(), b"", None, 10.0)
                except UpstreamError as exc:
                    await self._unavailable(send, runtime.key, str(exc), request_id, b"",
                                            b"", 0.0)
                    return
                answer_type = next((v for n, v in headers if n == b"content-type"), _JSON)
                await _reply(send, status, answer, runtime.key.encode(), request_id,
                             answer_type)
                return
        if path == "/invocations":
            await _reply(send, 405, _error("METHOD_NOT_ALLOWED", "Use POST for /invocations."),
                         b"", request_id)
            return
        await _reply(send, 404, _error(
            "ENDPOINT_NOT_FOUND", f"No endpoint {path}; deployment {self.deployment} answers "
            "POST /invocations (MLflow's scoring protocol), GET /ping and /health."),
            b"", request_id)

    async def _admin(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = os.urandom(8).hex().encode()
        if self.admin is None:
            await _reply(send, 404, _error("ENDPOINT_NOT_FOUND", "No control endpoint."), b"",
                         request_id)
            return
        body = await _read_body(receive)
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"]}
        status, document = await self.admin(scope["method"], scope["path"][len(ADMIN_PREFIX):],
                                             body, headers)
        await _reply(send, status, json.dumps(document, default=str).encode(), b"",
                     request_id)


def _error(code: str, message: str, **extra: Any) -> bytes:
    return json.dumps({"error_code": code, "message": message, **extra}).encode()


async def _read_body(receive: Any) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _reply(send: Any, status: int, body: bytes, version: bytes, request_id: bytes,
                 content_type: bytes = _JSON) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body)),
               (b"x-request-id", request_id)]
    if version:
        headers.append((b"x-mlops-version", version))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
