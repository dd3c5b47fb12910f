"""The `local` target: one model server process per version on this machine.

The process is `python -m jupyter_mlops.core.deploy.model_server` (our own
MLflow-compatible scoring server, see its docstring for why not `mlflow
models serve`), started by the deployment's supervisor with the same
interpreter, bound to `127.0.0.1` on a free port it picks itself and
reports through a port file (no race between choosing and binding), and
asked to die with the supervisor (Linux `PR_SET_PDEATHSIG`), so that a
supervisor killed hard leaves no orphan holding a port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .base import Target, VersionHandle, VersionSpec, tail_file

MODULE = "jupyter_mlops.core.deploy.model_server"


def pid_alive(pid: int | None) -> bool:
    """A running (not zombie) process with this pid."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return sys.platform != "linux"


def pid_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL; reaps our own children."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class LocalTarget(Target):
    """Options: `python` (interpreter, default this one), `threads` (prediction threads
    per server, default 2), `start_timeout` (seconds, default 120)."""

    name = "local"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.start_timeout = float(self.options.get("start_timeout", 120))
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    def launch(self, spec: VersionSpec) -> VersionHandle:
        spec.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = spec.log_dir / f"{spec.slug}.log"
        port_file = spec.log_dir / f".{spec.slug}.port"
        port_file.unlink(missing_ok=True)
        command = [
            str(self.options.get("python") or sys.executable), "-m", MODULE,
            "--model", spec.source, "--host", spec.host, "--port", str(spec.port or 0),
            "--name", spec.key, "--port-file", str(port_file),
            "--threads", str(int(self.options.get("threads", 2))), "--die-with-parent",
        ]
        env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
        with open(log_path, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {spec.key} "
                      f"from {spec.source}\n".encode())
            log.flush()
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, env=env, close_fds=True)
        self._processes[process.pid] = process
        return VersionHandle(target=self.name, key=spec.key, host=spec.host,
                             port=spec.port or None, pid=process.pid, log_path=str(log_path),
                             extra={"port_file": str(port_file)})

    def poll_port(self, handle: VersionHandle) -> int | None:
        if handle.port:
            return handle.port
        port_file = handle.extra.get("port_file")
        try:
            text = Path(port_file).read_text().strip() if port_file else ""
        except FileNotFoundError:
            return None
        if text.isdigit():
            handle.port = int(text)
        return handle.port

    def alive(self, handle: VersionHandle) -> bool:
        process = self._processes.get(handle.pid or -1)
        if process is not None:
            return process.poll() is None
        return pid_alive(handle.pid)

    def stop(self, handle: VersionHandle, timeout: float = 10.0) -> None:
        if not handle.pid:
            return
        process = self._processes.pop(handle.pid, None)
        if process is None and not self._is_ours(handle.pid, handle.key):
            return  # the pid was reused by something else: never signal a stranger
        terminate(handle.pid, timeout, process)

    def logs(self, handle: VersionHandle, tail: int = 200) -> str:
        return tail_file(handle.log_path, tail)

    def adopt(self, record: dict[str, Any]) -> VersionHandle | None:
        pid, port = record.get("pid"), record.get("port")
        if not pid or not port or not pid_alive(pid) or not self._is_ours(pid, record["key"]):
            return None
        return VersionHandle(target=self.name, key=record["key"],
                             host=record.get("host") or "127.0.0.1", port=port, pid=pid,
                             log_path=record.get("log_path"))

    @staticmethod
    def _is_ours(pid: int, key: str) -> bool:
        cmdline = pid_cmdline(pid)
        return MODULE in cmdline and key in cmdline
