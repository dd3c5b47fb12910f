"""A small keep-alive HTTP/1.1 client from the router to its model servers.

Why not httpx: measured on these machines, an `httpx.AsyncClient` request
costs ~2 ms of CPU in the router, twice the whole latency budget the router
has (≤ 1 ms added at p50); aiohttp's client ~0.8 ms. The router talks only to
our own model servers (`model_server.py`, locally or in a container), which
always answer with a `Content-Length`; this client is the least that such a
peer needs — pooled keep-alive connections, `Content-Length` and chunked
bodies, read-until-close for HTTP/1.0-style answers, a deadline per request,
and one retry on a fresh connection when a pooled one turns out to be closed
(the request was not processed: no byte of an answer came back).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

#: request headers never forwarded (hop-by-hop, or set by us)
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length", b"expect",
})

MAX_HEADER_BYTES = 64 * 1024


class UpstreamError(Exception):
    """The model server could not be reached or broke the connection.

    `kind` is `connect` (refused, unreachable: the version is down), `timeout`
    or `protocol` (it answered something that is not HTTP/1.1).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Stale(Exception):
    """A pooled connection was closed by the peer before answering: retry on a new one."""


class Upstream:
    """A pool of keep-alive connections to one model server."""

    def __init__(self, host: str, port: int, *, max_idle: int = 128,
                 connect_timeout: float = 2.0) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        self._idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
        self._host_header = f"{host}:{port}".encode()
        self.closed = False

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=MAX_HEADER_BYTES),
                self.connect_timeout)
        except asyncio.TimeoutError:
            raise UpstreamError("connect", f"connecting to {self.host}:{self.port} timed out")
        except OSError as exc:
            raise UpstreamError("connect", f"{self.host}:{self.port}: "
                                f"{exc.strerror or type(exc).__name__}") from None

    def _release(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.closed or len(self._idle) >= self.max_idle or writer.is_closing():
            writer.close()
        else:
            self._idle.append((reader, writer))

    async def request(self, method: bytes, path: bytes, body: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      timeout: float = 60.0) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one request; answer (status, headers with lower-case names, body)."""
        head = [b"%s %s HTTP/1.1\r\nhost: %s\r\ncontent-length: %d\r\n"
                % (method, path, self._host_header, len(body))]
        if headers:
            for name, value in headers:
                head.append(b"%s: %s\r\n" % (name, value))
        head.append(b"\r\n")
        payload = b"".join(head) + body
        try:
            return await asyncio.wait_for(self._roundtrip(payload), timeout)
        except asyncio.TimeoutError:
            raise UpstreamError("timeout", f"{self.host}:{self.port} did not answer within "
                                f"{timeout:g} s") from None

    async def _roundtrip(self, payload: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        while self._idle:
            reader, writer = self._idle.pop()
            if writer.is_closing() or reader.at_eof():
                writer.close()
                continue
            try:
                return await self._exchange(reader, writer, payload, reused=True)
            except _Stale:
                continue
        reader, writer = await self._connect()
        try:
            return await self._exchange(reader, writer, payload, reused=False)
        except _Stale:
            raise UpstreamError("connect", f"{self.host}:{self.port} closed the connection "
                                "without answering") from None

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        payload: bytes, *, reused: bool) -> tuple[int, list[Any], bytes]:
        got_bytes = False
        try:
            writer.write(payload)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                got_bytes = bool(exc.partial)
                raise
            got_bytes = True
            status, headers, length, chunked, keep_alive = _parse_head(head)
            if chunked:
                body = await _read_chunked(reader)
            elif length is not None:
                body = await reader.readexactly(length) if length else b""
            else:
                body = await reader.read()
                keep_alive = False
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as exc:
            writer.close()
            if reused and not got_bytes:
                raise _Stale() from None
            if isinstance(exc, ConnectionRefusedError):
                raise UpstreamError("connect", f"{self.host}:{self.port}: connection refused")
            raise UpstreamError("connect", f"{self.host}:{self.port} broke the connection "
                                f"({type(exc).__name__})") from None
        except asyncio.LimitOverrunError:
            writer.close()
            raise UpstreamError("protocol", "response headers too large") from None
        except asyncio.CancelledError:
            writer.close()  # a half-read answer must not go back into the pool
            raise
        except UpstreamError:
            writer.close()
            raise
        if keep_alive:
            self._release(reader, writer)
        else:
            writer.close()
        return status, headers, body

    async def close(self) -> None:
        self.closed = True
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
    lines = head.split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
        raise UpstreamError("protocol", f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    try:
        status = int(status_line[1])
    except ValueError:
        raise UpstreamError("protocol", f"bad status line {lines[0][:80]!r}") from None
    keep_alive = status_line[0] == b"HTTP/1.1"
    headers = []
    length = None
    chunked = False
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            if not value.isdigit():
                raise UpstreamError("protocol", f"bad content-length {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            lowered = value.lower()
            if b"close" in lowered:
                keep_alive = False
            elif b"keep-alive" in lowered:
                keep_alive = True
        headers.append((name, value))
    return status, headers, (None if chunked else length), chunked, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            raise UpstreamError("protocol", f"bad chunk size {size_line[:40]!r}") from None
        if size == 0:
            # trailers, then the empty line
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
