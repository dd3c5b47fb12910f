"""Where a workspace's state lives, resolved the same way from every surface.

A notebook kernel, the CLI and the Jupyter server must agree on one `.mlops/`
folder, one state database and one MLflow store, or a run logged from a cell
would be invisible to the panel. The server exports its resolved locations in
`JUPYTER_MLOPS_*` environment variables, which the kernels it launches
inherit; a process started elsewhere finds the workspace by walking up from
its working directory to the nearest `.mlops/` folder.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import BackendUnavailable, InvalidInput, OutsideWorkspace

#: environment variables through which a server hands its workspace to its kernels
ENV_WORKSPACE = "JUPYTER_MLOPS_WORKSPACE"
ENV_DB_URL = "JUPYTER_MLOPS_DB_URL"
ENV_TRACKING_URI = "JUPYTER_MLOPS_TRACKING_URI"
ENV_ARTIFACT_ROOT = "JUPYTER_MLOPS_ARTIFACT_ROOT"
#: honoured because the MLflow ecosystem already uses it
ENV_MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"

MLOPS_DIRNAME = ".mlops"


def mask_url(url: str) -> str:
    """Hide a password in a URL before it is shown in a panel or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def find_workspace_root(start: Path) -> Path | None:
    """The nearest ancestor of `start` (itself included) that holds a `.mlops/` folder."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / MLOPS_DIRNAME).is_dir():
            return candidate
    return None


@dataclass
class ComponentHealth:
    """Whether one backing store answered, and how fast."""

    ok: bool
    detail: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "latency_ms": round(self.latency_ms, 2)}


@dataclass
class Workspace:
    """One workspace: a root folder, its `.mlops/` state and the stores behind it.

    Construct it through `Workspace.resolve()` so that every surface applies the
    same precedence (explicit argument, then environment, then defaults).
    Nothing touches the disk until a store is used.
    """

    root: Path
    db_url: str
    tracking_uri: str
    artifact_root: str
    _engine: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- resolution -------------------------------------------------------------------------
    @classmethod
    def resolve(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        tracking_uri: str | None = None,
        artifact_root: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Workspace:
        """Apply the precedence: argument > `JUPYTER_MLOPS_*` > `MLFLOW_TRACKING_URI` > default."""
        env = os.environ if environ is None else environ
        if root is None:
            root = env.get(ENV_WORKSPACE) or find_workspace_root(Path.cwd()) or Path.cwd()
        root_path = Path(root).expanduser()
        if root_path.exists() and not root_path.is_dir():
            raise InvalidInput(f"Workspace root {root_path} is a file, not a folder.")
        root_path = root_path.resolve()
        mlops_dir = root_path / MLOPS_DIRNAME
        db_url = db_url or env.get(ENV_DB_URL) or f"sqlite:///{mlops_dir / 'state.db'}"
        tracking_uri = (
            tracking_uri
            or env.get(ENV_TRACKING_URI)
            or env.get(ENV_MLFLOW_TRACKING_URI)
            or f"sqlite:///{mlops_dir / 'mlflow.db'}"
        )
        artifact_root = (
            artifact_root or env.get(ENV_ARTIFACT_ROOT) or (mlops_dir / "artifacts").as_uri()
        )
        return cls(root=root_path, db_url=db_url, tracking_uri=tracking_uri,
                   artifact_root=artifact_root)

    def export_environ(self, environ: dict[str, str] | os._Environ[str] | None = None) -> None:
        """Publish this workspace to child processes (kernels, pipeline steps)."""
        env = os.environ if environ is None else environ
        env[ENV_WORKSPACE] = str(self.root)
        env[ENV_DB_URL] = self.db_url
        env[ENV_TRACKING_URI] = self.tracking_uri
        env[ENV_ARTIFACT_ROOT] = self.artifact_root

    # -- layout -----------------------------------------------------------------------------
    @property
    def mlops_dir(self) -> Path:
        return self.root / MLOPS_DIRNAME

    @property
    def objects_dir(self) -> Path:
        return self.mlops_dir / "objects"

    @property
    def runs_dir(self) -> Path:
        return self.mlops_dir / "runs"

    @property
    def predictions_dir(self) -> Path:
        return self.mlops_dir / "predictions"

    def ensure_layout(self) -> None:
        """Create `.mlops/` and its folders; idempotent, safe to race."""
        for folder in (self.mlops_dir, self.objects_dir, self.runs_dir, self.predictions_dir):
            folder.mkdir(parents=True, exist_ok=True)
        gitignore = self.mlops_dir / ".gitignore"
        if not gitignore.exists():
            # the state is data, not source: keep it out of the user's commits by default
            gitignore.write_text("# created by jupyter-mlops\n*\n")

    def resolve_path(self, path: str | os.PathLike[str]) -> Path:
        """A user-given path, made absolute and confined to the workspace root."""
        raw = os.fspath(path)
        if not raw or "\x00" in raw:
            raise InvalidInput("A path must be a non-empty string without NUL characters.")
        candidate = Path(raw).expanduser()
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = candidate.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise OutsideWorkspace(
                f"Path {raw!r} is outside the workspace root {self.root}.",
                details={"path": raw, "root": str(self.root)},
            )
        return resolved

    def relpath(self, path: Path) -> str:
        """The workspace-relative form used in the API and the UI."""
        return path.resolve().relative_to(self.root).as_posix()

    # -- state database ---------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine of the state DB, migrated to head on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from .db.engine import create_state_engine
                    from .db.migrate import upgrade_to_head

                    if self.db_url.startswith("sqlite"):
                        self.ensure_layout()
                    engine = create_state_engine(self.db_url)
                    upgrade_to_head(engine, lock_dir=self.mlops_dir
                                    if self.db_url.startswith("sqlite") else None)
                    self._engine = engine
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A session that commits on success and rolls back on error."""
        from sqlalchemy.orm import Session

        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release pooled connections (tests and short-lived CLIs)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- MLflow -----------------------------------------------------------------------------
    @property
    def mlflow(self) -> Any:
        """The workspace's MLflow store adapter (created lazily: importing MLflow is slow)."""
        from .mlflow_store import MlflowStore

        store = self.__dict__.get("_mlflow_store")
        if store is None:
            if self.tracking_uri.startswith("sqlite"):
                self.ensure_layout()
            store = MlflowStore(self.tracking_uri, self.artifact_root)
            self.__dict__["_mlflow_store"] = store
        return store

    # -- reporting --------------------------------------------------------------------------
    def health(self) -> dict[str, ComponentHealth]:
        """Ask each store a cheap question; never raises, reports instead."""
        return {"state_db": self._check(self._ping_db), "mlflow": self._check(self._ping_mlflow)}

    @staticmethod
    def _check(probe: Any) -> ComponentHealth:
        started = time.perf_counter()
        try:
            detail = probe()
            ok = True
        except Exception as exc:  # health reports failures; it must not raise them
            detail = f"{type(exc).__name__}: {exc}".strip()[:500]
            ok = False
        return ComponentHealth(ok, detail, (time.perf_counter() - started) * 1000)

    def _ping_db(self) -> str:
        from .db.migrate import current_revision

        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return f"{self.engine.dialect.name}, schema {current_revision(self.engine)}"

    def _ping_mlflow(self) -> str:
        return self.mlflow.ping()

    def info(self) -> dict[str, Any]:
        """What `%mlops info`, `jupyter mlops info` and `/config` show about the workspace."""
        return {
            "root": str(self.root),
            "mlops_dir": str(self.mlops_dir),
            "initialized": self.mlops_dir.is_dir(),
            "state_db": mask_url(self.db_url),
            "tracking_uri": mask_url(self.tracking_uri),
            "artifact_root": mask_url(self.artifact_root),
            "objects_dir": str(self.objects_dir),
            "runs_dir": str(self.runs_dir),
            "predictions_dir": str(self.predictions_dir),
        }


def require_backend(ok: bool, what: str, detail: str) -> None:
    """Raise the one error surfaces map to 503 when a store is down."""
    if not ok:
        raise BackendUnavailable(f"{what} is unreachable: {detail}")


def use_workspace(workspace: Workspace | str | os.PathLike[str] | None) -> Workspace:
    """What every core function does with its `workspace=` argument.

    A Workspace is used as is; None means the process's current one
    (`jupyter_mlops.workspace()`, the server's in a kernel); a path is the
    workspace rooted there, which becomes the current one (opening a store
    per call would cost an engine and a migration check each time).
    """
    if isinstance(workspace, Workspace):
        return workspace
    import jupyter_mlops

    if workspace is None:
        return jupyter_mlops.workspace()
    if not isinstance(workspace, (str, os.PathLike)):
        raise InvalidInput(f"workspace must be a Workspace or a folder path, "
                           f"got {type(workspace).__name__}")
    root = Path(workspace).expanduser().resolve()
    current = jupyter_mlops._current
    if current is not None and current.root == root:
        return current
    return jupyter_mlops.workspace(str(root))
