"""The process of one deployment: its router and its supervisor.

    python -m jupyter_mlops.core.deploy.router_main <deployment>

Started detached (its own session) by `deploy()` / `Deployment.start()` /
`reconcile()` with the workspace in its environment, so that it outlives the
kernel or the Jupyter server that started it. It binds the deployment's port
first (a port in use fails at once, with the port, in the state DB), brings
the versions up, then serves. SIGTERM or SIGINT (or the `stop` command) is a
graceful stop: no new connections, in-flight requests finish and are logged,
the prediction log is flushed, the versions are stopped, the DB says
`stopped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from typing import Any

EXIT_PORT_IN_USE = 3
EXIT_START_FAILED = 4


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM once serving ends, which would kill the
        process before the supervisor stops the versions: signals are ours here."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
            yield

        def install_signal_handlers(self) -> None:  # older uvicorn
            return None

    return Server


async def serve(name: str, sock: Any) -> int:
    import uvicorn

    from ..workspace import Workspace
    from .model_server import http_protocol
    from .supervisor import Supervisor

    ws = Workspace.resolve()
    supervisor = Supervisor(ws, name)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a stop while starting is graceful too
        loop.add_signal_handler(sig, supervisor.request_stop)
    try:
        await supervisor.start()
    except Exception as exc:
        if supervisor.stop_requested:  # stopped while starting: not a failure
            await supervisor.shutdown()
            return 0
        logging.getLogger("jupyter_mlops.deploy").error("start-up failed: %s", exc)
        await supervisor.fail(getattr(exc, "message", None) or str(exc))
        return EXIT_START_FAILED
    if supervisor.stop_requested:
        await supervisor.shutdown()
        return 0
    config = uvicorn.Config(supervisor.router, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=15,
                            timeout_keep_alive=30, backlog=2048, http=http_protocol())
    server = _server_class()(config)
    supervisor.server = server
    supervisor.start_background()
    try:
        await server.serve(sockets=[sock])
    finally:
        await supervisor.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m jupyter_mlops.core.deploy.router_main <deployment>",
              file=sys.stderr)
        return 2
    name = args[0]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow
    from ..workspace import Workspace
    from .model_server import PortInUse, bind_socket, run_event_loop

    ws = Workspace.resolve()
    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            print(f"No deployment named {name!r} in {ws.root}.", file=sys.stderr)
            return 2
        host, port = row.host, row.port
    try:
        sock = bind_socket(host, port)
    except PortInUse:
        message = f"Port {port} is already in use (deployment {name} listens on {host}:{port})."
        print(f"MLOPS_PORT_IN_USE port={port} host={host}", file=sys.stderr, flush=True)
        with ws.session() as session:
            row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
            if row is not None:
                row.status, row.error, row.router_pid = "failed", message, None
        return EXIT_PORT_IN_USE
    print(f"MLOPS_ROUTER_BOUND port={port}", flush=True)
    return run_event_loop(serve(name, sock))


if __name__ == "__main__":
    sys.exit(main())
