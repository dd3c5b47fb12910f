"""What a deploy target is: start, check, stop and read the logs of one model version.

A target runs one model server per model version and tells the supervisor
where it listens. It never routes traffic, keeps no state of its own beyond
what `VersionHandle` carries (stored in the state DB, so that a restarted
supervisor can adopt what still runs), and reports failures as our errors
with the reason a person can act on (a port in use names the port).
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import MLOpsError


class VersionStartError(MLOpsError):
    """A model version did not come up; `message` says why (port in use, model failed)."""

    code = "version_start_failed"


@dataclass
class VersionSpec:
    """Everything a target needs to start one model version."""

    deployment: str
    key: str                 #: `<model>/<version>`
    model_name: str
    model_version: str
    source: str              #: a local model folder or an MLflow/artifact URI
    log_dir: Path
    host: str = "127.0.0.1"
    port: int | None = None  #: None: any free port
    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The key as a file or container name: `churn-v3`."""
        return slugify(f"{self.model_name}-v{self.model_version}")


@dataclass
class VersionHandle:
    """Where a started version runs; persisted in `deployment_versions`."""

    target: str
    key: str
    host: str
    port: int | None = None
    pid: int | None = None
    container_id: str | None = None
    image: str | None = None
    log_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        return f"http://{self.host}:{self.port}" if self.port else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Target(ABC):
    """One way of running model servers. Subclasses are registered by name."""

    name: str = ""
    #: launch() blocks for long (image builds): the supervisor calls it in a worker thread
    blocking_launch: bool = False
    #: how long a version may take from launch to its first healthy /ping
    start_timeout: float = 120.0

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    @abstractmethod
    def launch(self, spec: VersionSpec) -> VersionHandle:
        """Start the version; return at once with what is known (the port may come later)."""

    def poll_port(self, handle: VersionHandle) -> int | None:
        """The port once the server has bound it (None while unknown)."""
        return handle.port

    @abstractmethod
    def alive(self, handle: VersionHandle) -> bool:
        """Whether the process or container still runs (not whether it answers)."""

    def failure(self, handle: VersionHandle) -> str:
        """Why a version that is no longer alive stopped, for the error message."""
        return explain_log(self.logs(handle, tail=40))

    @abstractmethod
    def stop(self, handle: VersionHandle, timeout: float = 10.0) -> None:
        """Stop and clean up (idempotent: stopping a stopped version is fine)."""

    @abstractmethod
    def logs(self, handle: VersionHandle, tail: int = 200) -> str:
        """The last lines the model server wrote."""

    def adopt(self, record: dict[str, Any]) -> VersionHandle | None:
        """Re-attach to a version a previous supervisor started, if it still runs."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options}


_SLUG = re.compile(r"[^a-z0-9_.-]+")


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-.") or "model"


def tail_file(path: str | os.PathLike[str] | None, lines: int = 200) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 256 * 1024))
            data = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def explain_log(text: str) -> str:
    """The model server's own words for why it stopped (see model_server.py)."""
    for line in reversed(text.splitlines()):
        if "MLOPS_PORT_IN_USE" in line:
            port = re.search(r"port=(\d+)", line)
            return f"Port {port.group(1) if port else '?'} is already in use."
        if "MLOPS_MODEL_LOAD_FAILED" in line:
            reason = line.split("MLOPS_MODEL_LOAD_FAILED", 1)[1].strip()
            return f"The model could not be loaded: {reason}"
    lines = [line for line in text.splitlines() if line.strip()]
    return ("The model server exited: " + " | ".join(lines[-3:])) if lines else \
        "The model server exited without a message."
