"""Ports and router processes, seen from the workbench (a kernel, the server, the CLI).

A deployment's router runs as a process of its own (`router_main.py`, a new
session), so it outlives whoever started it; `_CHILDREN` keeps the `Popen`
objects this process started so that they are reaped (no zombies in a
long-lived kernel or server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from ..errors import Conflict, InvalidInput
from ..workspace import Workspace
from .supervisor import deployment_dir
from .targets.local import pid_alive, pid_cmdline

ROUTER_MODULE = "jupyter_mlops.core.deploy.router_main"
#: routers this process started, reaped when polled (no zombies in a long-lived kernel)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port(host: str, port: int) -> None:
    """Conflict naming the port when something listens there already."""
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InvalidInput(f"port must be between 1 and 65535, got {port!r}.")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise Conflict(f"Port {port} is already in use on {host}; pick another port or "
                           "leave port=None for a free one.",
                           details={"port": port, "host": host, "reason": str(exc)}) from None


def _launch_router(ws: Workspace, name: str) -> subprocess.Popen[bytes]:
    folder = deployment_dir(ws, name)
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    ws.export_environ(env)
    env["PYTHONUNBUFFERED"] = "1"
    with open(folder / "router.log", "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting router of {name}\n"
                  .encode())
        log.flush()
        process = subprocess.Popen([sys.executable, "-m", ROUTER_MODULE, name], env=env,
                                   cwd=str(ws.root), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   close_fds=True)
    _CHILDREN[process.pid] = process
    return process


def _reap() -> None:
    for pid, process in list(_CHILDREN.items()):
        if process.poll() is not None:
            _CHILDREN.pop(pid, None)


def _router_running(pid: int | None, name: str) -> bool:
    _reap()
    if not pid or not pid_alive(pid):
        return False
    cmdline = pid_cmdline(pid)
    return not cmdline or (ROUTER_MODULE in cmdline and name in cmdline)


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "*") else host

