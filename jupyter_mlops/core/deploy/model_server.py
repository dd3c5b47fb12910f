"""One model version behind MLflow's scoring protocol: our own small ASGI server.

Why not `mlflow models serve --env-manager local`: that command imports the
MLflow CLI, then starts uvicorn in a *second* interpreter that imports MLflow
again and loads the model (~7 s to the first answer on these machines). This
module is one interpreter: it binds the port first (so a port in use is
reported at once, with the port), loads the pyfunc once, and serves a bare
ASGI app on uvicorn (~3.5 s, most of it importing MLflow and scikit-learn).

It speaks MLflow's `/invocations` request and response formats by calling
MLflow's own parser (`mlflow.pyfunc.scoring_server.invocations`): JSON with
`dataframe_split`, `dataframe_records`, `instances` or `inputs` (and
`params`), CSV and Parquet bodies; answers `{"predictions": ...}`. Two
differences from MLflow's server, both deliberate:

- an exception raised by the model's own code answers **500**
  (`INTERNAL_ERROR`), not 400: a crashing model is the server's fault, and
  the router's canary analysis must be able to tell it from a malformed
  request, which still answers MLflow's 4xx;
- `/ping` and `/health` answer JSON naming the model version.

This file imports nothing from jupyter_mlops: the docker target copies it
into images as a standalone script.

    python -m jupyter_mlops.core.deploy.model_server --model PATH_OR_URI --port 0 \
        --host 127.0.0.1 --name churn/3 --port-file /tmp/port
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: exit status when the port cannot be bound (the workbench reports the port)
EXIT_PORT_IN_USE = 3
#: exit status when the model cannot be loaded
EXIT_MODEL_LOAD = 4


class ModelFailure(Exception):
    """The model's own code raised: a server error, not the caller's."""


class _GuardedModel:
    """Wraps a PyFuncModel so that failures inside the model are recognisable.

    MLflow's `invocations()` turns every exception of `predict` into a 400;
    raising ours inside it leaves it in the `__context__` chain of MLflow's
    exception, which is how the handler tells a model crash from bad input.
    """

    def __init__(self, model: Any) -> None:
        self._model = model
        self.metadata = model.metadata

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            if params is None:
                return self._model.predict(data)
            return self._model.predict(data, params=params)
        except MlflowException:
            raise  # schema enforcement: the input does not fit the signature
        except Exception as exc:
            raise ModelFailure(f"{type(exc).__name__}: {exc}") from exc


def _model_failure_in(exc: BaseException) -> ModelFailure | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ModelFailure):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before loading the model, so a port in use fails fast and by name."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it every answer waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from exc
        raise
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class PortInUse(OSError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"Port {port} on {host} is already in use.")
        self.host = host
        self.port = port


class ScoringApp:
    """A bare ASGI app: GET /ping /health /version /metadata, POST /invocations."""

    def __init__(self, model: Any, name: str, *, threads: int = 2) -> None:
        self.model = _GuardedModel(model)
        self.name = name
        self.input_schema = model.metadata.get_input_schema()
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads),
                                        thread_name_prefix="predict")
        self.started = time.time()
        self.served = 0
        try:
            from mlflow.pyfunc.scoring_server import invocations
        except ImportError:  # pragma: no cover - MLflow moved its scoring module
            invocations = None
        self._invocations = invocations
        import mlflow

        self.mlflow_version = mlflow.__version__

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        method = scope["method"]
        if path == "/invocations":
            if method != "POST":
                await _send(send, 405, b'{"error_code": "METHOD_NOT_ALLOWED", '
                            b'"message": "Use POST for /invocations."}')
                return
            body = await _read_body(receive)
            content_type = _header(scope, b"content-type") or "application/json"
            status, payload, media = await asyncio.get_running_loop().run_in_executor(
                self._pool, self._score, body, content_type)
            await _send(send, status, payload, media)
            return
        if method not in ("GET", "HEAD"):
            await _send(send, 405, b'{"error_code": "METHOD_NOT_ALLOWED"}')
            return
        if path in ("/ping", "/health"):
            await _send(send, 200, json.dumps({
                "status": "ok", "model": self.name, "pid": os.getpid(),
                "uptime_s": round(time.time() - self.started, 3),
                "served": self.served}).encode())
        elif path == "/version":
            await _send(send, 200, self.mlflow_version.encode())
        elif path == "/metadata":
            await _send(send, 200, json.dumps(self._metadata()).encode())
        else:
            await _send(send, 404, json.dumps({
                "error_code": "ENDPOINT_NOT_FOUND",
                "message": f"No endpoint {path}; use POST /invocations."}).encode())

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- scoring ---------------------------------------------------------------------------
    def _score(self, body: bytes, content_type: str) -> tuple[int, bytes, str]:
        from mlflow.exceptions import MlflowException

        self.served += 1
        try:
            if self._invocations is None:  # pragma: no cover
                return self._score_fallback(body, content_type)
            result = self._invocations(body, content_type, self.model, self.input_schema)
            payload = result.response
            return (result.status, payload.encode() if isinstance(payload, str) else payload,
                    result.mimetype)
        except MlflowException as exc:
            failure = _model_failure_in(exc)
            if failure is not None:
                return 500, _error("INTERNAL_ERROR", f"The model raised {failure}"), _JSON
            return exc.get_http_status_code(), exc.serialize_as_json().encode(), _JSON
        except Exception as exc:  # a model failure outside MLflow's wrapper
            failure = _model_failure_in(exc)
            if failure is not None:
                return 500, _error("INTERNAL_ERROR", f"The model raised {failure}"), _JSON
            return 400, _error("BAD_REQUEST", f"{type(exc).__name__}: {exc}"), _JSON

    def _score_fallback(self, body: bytes, content_type: str) -> tuple[int, bytes, str]:
        import pandas as pd

        data = json.loads(body)
        if "dataframe_split" in data:
            frame = pd.DataFrame(**data["dataframe_split"])
        elif "dataframe_records" in data:
            frame = pd.DataFrame.from_records(data["dataframe_records"])
        else:
            frame = pd.DataFrame(data.get("instances", data.get("inputs")))
        predictions = self.model.predict(frame)
        if hasattr(predictions, "tolist"):
            predictions = predictions.tolist()
        return 200, json.dumps({"predictions": predictions}).encode(), _JSON

    def _metadata(self) -> dict[str, Any]:
        meta = self.model.metadata
        signature = getattr(meta, "signature", None)
        return {
            "model": self.name,
            "flavors": sorted(getattr(meta, "flavors", {}) or {}),
            "signature": signature.to_dict() if signature is not None else None,
            "mlflow_version": self.mlflow_version,
        }


_JSON = "application/json"


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "message": message}).encode()


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes, media: str = _JSON) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _CoalescingTransport:
    """Writes made in one turn of the event loop leave in one `send()`.

    uvicorn writes a response's status line and headers, then its body, as two
    writes, so every answer costs two segments and two wake-ups of the reader;
    on loopback that second wake-up is a measurable share of a 1 ms budget.
    Everything except `write` is the real transport's.
    """

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        pending = sum(len(chunk) for chunk in self._pending or ())
        return pending + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on uvloop when it is installed (what uvicorn's own `run` would pick):
    the router's share of each request is mostly event-loop and socket work."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def http_protocol() -> Any:
    """uvicorn's HTTP protocol class (httptools when installed, else h11) with writes
    coalesced per loop turn; the plain name "auto" if uvicorn's layout is unknown."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:
        try:
            from uvicorn.protocols.http.h11_impl import H11Protocol as Base
        except ImportError:  # pragma: no cover - another uvicorn layout
            return "auto"

    class CoalescingProtocol(Base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(_CoalescingTransport(transport, asyncio.get_running_loop()))

    return CoalescingProtocol


def _set_parent_death_signal() -> None:
    """Die with the process that started us (the deployment's supervisor), on Linux."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _vendored_packages() -> None:
    """Packages copied into an image next to this script (the docker target's
    `python_env="copy"`) come before the image's own."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages")
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.insert(0, folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="model_server",
                                     description="Serve one MLflow pyfunc model version.")
    parser.add_argument("--model", required=True, help="a local model folder or an MLflow URI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--name", default=None, help="what /ping reports, e.g. churn/3")
    parser.add_argument("--port-file", default=None,
                        help="write the bound port here as soon as it is bound")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--die-with-parent", action="store_true")
    args = parser.parse_args(argv)
    if args.die_with_parent:
        _set_parent_death_signal()
    _vendored_packages()

    try:
        sock = bind_socket(args.host, args.port)
    except PortInUse as exc:
        print(f"MLOPS_PORT_IN_USE port={exc.port} host={exc.host}", file=sys.stderr, flush=True)
        return EXIT_PORT_IN_USE
    port = sock.getsockname()[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as handle:
            handle.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"MLOPS_MODEL_SERVER_BOUND port={port}", flush=True)

    started = time.perf_counter()
    try:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(args.model)
    except Exception as exc:
        print(f"MLOPS_MODEL_LOAD_FAILED {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        return EXIT_MODEL_LOAD
    name = args.name or args.model
    print(f"MLOPS_MODEL_LOADED model={name} seconds={time.perf_counter() - started:.2f}",
          flush=True)

    import uvicorn

    app = ScoringApp(model, name, threads=args.threads)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=10, timeout_keep_alive=30,
                            http=http_protocol())
    server = uvicorn.Server(config)
    print(f"MLOPS_MODEL_SERVER_READY port={port}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
