"""Where a run came from, recorded on every run without the user asking.

MLflow, used from Jupyter, records `ipykernel_launcher.py` as the source and no
git commit (mlflow issues 2945, 3695, 13220). A kernel can do better: the
Jupyter server tells it its notebook (`JPY_SESSION_NAME`, or the server's
`/api/sessions` matched on the kernel id), and a papermill step is told its
input and output notebooks by the pipeline runner (`JUPYTER_MLOPS_NOTEBOOK`,
`JUPYTER_MLOPS_OUTPUT_NOTEBOOK`).

Collecting this costs tens of milliseconds (subprocesses, a directory scan of
installed packages, maybe an HTTP call), so results are cached per process:
the package list for the process's life, git and the server lookup for a few
seconds, so a sweep of many runs pays once and a commit made mid-session still
shows up. `refresh_context()` drops the caches.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..workspace import Workspace, mask_url
from ..identity import current_actor

ENV_NOTEBOOK = "JUPYTER_MLOPS_NOTEBOOK"
ENV_OUTPUT_NOTEBOOK = "JUPYTER_MLOPS_OUTPUT_NOTEBOOK"
ENV_JPY_SESSION = "JPY_SESSION_NAME"

GIT_TTL_S = 15.0
SESSION_TTL_S = 60.0
GIT_TIMEOUT_S = 2.0
SESSION_TIMEOUT_S = 1.0

_KERNEL_FILE = re.compile(r"kernel-(?P<id>[^/\\]+)\.json$")

_git_cache: dict[str, tuple[float, dict[str, str]]] = {}
_session_cache: dict[str, tuple[float, str | None]] = {}
_environment: Environment | None = None


@dataclass(frozen=True)
class Environment:
    """The interpreter and the installed packages: the part of a run that rarely changes."""

    python: str
    platform: str
    host: str
    user: str
    requirements: str  # one `name==version` per line, sorted
    hash: str

    def tags(self) -> dict[str, str]:
        return {
            "mlflow.user": self.user,
            "mlops.host": self.host,
            "mlops.python": self.python,
            "mlops.platform": self.platform,
            "mlops.env.hash": self.hash,
        }


@dataclass(frozen=True)
class RunContext:
    """Everything recorded automatically on a run; `tags()` is what lands in MLflow."""

    environment: Environment
    notebook: Path | None = None
    output_notebook: Path | None = None
    git: dict[str, str] = field(default_factory=dict)
    workspace_root: Path | None = None

    @property
    def default_experiment(self) -> str:
        """A notebook's runs go to an experiment named like it, so they group themselves."""
        return self.notebook.stem if self.notebook else "Default"

    def _display(self, path: Path) -> str:
        """Workspace-relative when inside the workspace: what the panel opens."""
        if self.workspace_root is not None:
            try:
                return path.relative_to(self.workspace_root).as_posix()
            except ValueError:
                pass
        return str(path)

    def tags(self) -> dict[str, str]:
        tags = dict(self.environment.tags())
        if self.notebook is not None:
            tags["mlflow.source.name"] = str(self.notebook)
            tags["mlflow.source.type"] = "NOTEBOOK"
            tags["mlops.notebook"] = self._display(self.notebook)
        else:
            script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
            # a kernel's argv[0] is ipykernel_launcher.py: the very tag mlflow gets wrong
            if script is not None and script.is_file() and "ipykernel" not in script.name:
                tags["mlflow.source.name"] = str(script.resolve())
                tags["mlflow.source.type"] = "LOCAL"
        if self.output_notebook is not None:
            tags["mlops.output_notebook"] = self._display(self.output_notebook)
        tags.update(self.git)
        return tags


def refresh_context() -> None:
    """Forget cached context (after `pip install` or `git commit`, or in tests)."""
    global _environment
    _environment = None
    _git_cache.clear()
    _session_cache.clear()


# -- environment -------------------------------------------------------------------------
def installed_requirements() -> str:
    """`name==version` of every importable distribution, sorted and de-duplicated."""
    from importlib.metadata import distributions

    seen: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        seen.setdefault(key, f"{key}=={dist.version}")  # first on sys.path wins, as for import
    return "".join(f"{line}\n" for line in sorted(seen.values()))


def environment() -> Environment:
    """The cached interpreter/package description of this process."""
    global _environment
    if _environment is None:
        requirements = installed_requirements()
        _environment = Environment(
            python=platform.python_version(),
            platform=platform.platform(terse=True),
            host=socket.gethostname(),
            user=current_actor(),
            requirements=requirements,
            hash=hashlib.sha256(requirements.encode()).hexdigest()[:16],
        )
    return _environment


# -- git ---------------------------------------------------------------------------------
def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(directory: Path) -> dict[str, str]:
    """Commit, branch, remote and dirty flag as MLflow/our tags; {} outside a repository.

    Dirty means tracked files differ from the commit (as `git describe --dirty`):
    untracked data files would otherwise mark nearly every workspace dirty.
    """
    key = str(directory)
    cached = _git_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    tags: dict[str, str] = {}
    if shutil.which("git") is not None and directory.is_dir():
        head = _git(directory, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
        if head:
            lines = head.splitlines()
            tags["mlflow.source.git.commit"] = lines[0]
            if len(lines) > 1 and lines[1] != "HEAD":
                tags["mlflow.source.git.branch"] = lines[1]
            status = _git(directory, "status", "--porcelain", "--untracked-files=no")
            if status is not None:
                tags["mlops.git.dirty"] = "true" if status else "false"
            remote = _git(directory, "config", "--get", "remote.origin.url")
            if remote:
                tags["mlflow.source.git.repoURL"] = mask_url(remote)
    _git_cache[key] = (time.monotonic() + GIT_TTL_S, tags)
    return tags


# -- notebook ----------------------------------------------------------------------------
def kernel_id(argv: list[str] | None = None) -> str | None:
    """This kernel's id, from its connection file name (`kernel-<id>.json`)."""
    for arg in argv if argv is not None else sys.argv:
        match = _KERNEL_FILE.search(arg)
        if match:
            return match.group("id")
    if argv is None and "ipykernel" in sys.modules:
        try:
            from ipykernel.connect import get_connection_file

            match = _KERNEL_FILE.search(get_connection_file())
            return match.group("id") if match else None
        except Exception:  # not actually running as a kernel
            return None
    return None


def _running_servers(runtime_dir: str | None) -> list[dict[str, Any]]:
    """The `jpserver-*.json` files of live servers, read directly.

    Same files `jupyter_server.serverapp.list_running_servers` reads; importing
    that module would pull tornado and the whole server into a kernel.
    """
    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir

            runtime_dir = jupyter_runtime_dir()
        except Exception:
            return []
    folder = Path(runtime_dir)
    if not folder.is_dir():
        return []
    servers = []
    for path in sorted(folder.glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            os.kill(int(info["pid"]), 0)
        except PermissionError:  # alive, owned by someone else
            pass
        except (OSError, ValueError, KeyError, TypeError):
            continue
        servers.append(info)
    return servers


def _sessions(info: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
    import urllib.request  # only in a kernel that needs it: it pulls in http and email

    url = str(info.get("url", "")).rstrip("/") + "/api/sessions"
    token = info.get("token", "")
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    handlers: list[Any] = [urllib.request.ProxyHandler({})]  # a local server, never via a proxy
    if url.startswith("https"):
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the server's own, often self-signed, certificate
        handlers.append(urllib.request.HTTPSHandler(context=context))
    with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def notebook_from_server(kid: str | None = None, runtime_dir: str | None = None,
                         timeout: float = SESSION_TIMEOUT_S) -> Path | None:
    """The notebook whose session owns this kernel, asked of the running servers."""
    kid = kid or kernel_id()
    if not kid:
        return None
    cached = _session_cache.get(kid)
    if cached is not None and cached[0] > time.monotonic():
        return Path(cached[1]) if cached[1] else None
    found: str | None = None
    for info in _running_servers(runtime_dir):
        try:
            sessions = _sessions(info, timeout)
        except Exception:  # a server that does not answer must never fail a run
            continue
        for session in sessions if isinstance(sessions, list) else []:
            if (session.get("kernel") or {}).get("id") == kid and session.get("path"):
                root = info.get("root_dir") or info.get("notebook_dir") or "."
                found = str((Path(root) / session["path"]).resolve())
                break
        if found:
            break
    _session_cache[kid] = (time.monotonic() + SESSION_TTL_S, found)
    return Path(found) if found else None


def _as_path(value: str, root: Path | None) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    return path.resolve()


def notebook_paths(ws: Workspace | None = None) -> tuple[Path | None, Path | None]:
    """(notebook, output notebook), in order of trust.

    Explicit `JUPYTER_MLOPS_*` variables first (a papermill step: the kernel's
    session name there would be wrong or absent), then `JPY_SESSION_NAME` when
    the file still exists (it goes stale when the notebook is renamed), then
    the server's sessions, then a stale `JPY_SESSION_NAME` as a last resort.
    """
    root = ws.root if ws is not None else None
    explicit = os.environ.get(ENV_NOTEBOOK)
    output = os.environ.get(ENV_OUTPUT_NOTEBOOK)
    output_path = _as_path(output, root) if output else None
    if explicit:
        return _as_path(explicit, root), output_path
    session_name = os.environ.get(ENV_JPY_SESSION)
    session_path = _as_path(session_name, root) if session_name else None
    if session_path is not None and session_path.is_file():
        return session_path, output_path
    from_server = notebook_from_server()
    if from_server is not None:
        return from_server, output_path
    if session_path is not None and session_path.suffix == ".ipynb":
        return session_path, output_path
    return None, output_path


def collect_context(ws: Workspace) -> RunContext:
    """The context of a run started now in this process (cheap after the first call)."""
    notebook, output = notebook_paths(ws)
    git_dir = notebook.parent if notebook is not None and notebook.parent.is_dir() else ws.root
    return RunContext(environment=environment(), notebook=notebook, output_notebook=output,
                      git=git_info(git_dir), workspace_root=ws.root)
