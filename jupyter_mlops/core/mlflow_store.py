"""Our one door to MLflow: a client bound to the workspace's URIs.

MLflow's stores are never re-implemented here; this adapter only makes sure
an embedded SQLite store is created with the workspace's artifact root (not
`./mlruns` of whatever directory a process happens to run in) and that
callers get our error types instead of MLflow's.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .errors import BackendUnavailable
from .locks import migration_lock


def sqlite_path(uri: str) -> Path | None:
    """The file behind a `sqlite:///` URI (relative or absolute), or None otherwise."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    rest = uri[len(prefix):].split("?", 1)[0]
    return Path(unquote(rest)) if rest and rest != ":memory:" else None


class MlflowStore:
    """Lazily creates an `MlflowClient`; importing mlflow costs seconds, so only on use."""

    def __init__(self, tracking_uri: str, artifact_root: str) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = tracking_uri
        self.artifact_root = artifact_root
        self._client: Any = None
        self._lock = threading.Lock()

    def _initialize_sqlite(self, path: Path | None) -> None:
        if path is None or path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        # Creating the store ourselves fixes the Default experiment's artifact location.
        store = SqlAlchemyStore(self.tracking_uri, self.artifact_root)
        store.engine.dispose()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    path = sqlite_path(self.tracking_uri)
                    try:
                        # another process creating the same new store must finish first:
                        # MLflow migrates an empty SQLite file on open, twice at once fails
                        with migration_lock(path.with_name(path.name + ".lock") if path else None):
                            self._initialize_sqlite(path)
                            from mlflow.tracking import MlflowClient

                            client = MlflowClient(
                                tracking_uri=self.tracking_uri, registry_uri=self.registry_uri
                            )
                            if path is not None:
                                client.search_experiments(max_results=1)  # opens the store
                        self._client = client
                    except Exception as exc:
                        raise BackendUnavailable(
                            f"Cannot open the MLflow store {self.tracking_uri!r}: {exc}"
                        ) from exc
        return self._client

    def ping(self) -> str:
        """One cheap query that proves the tracking store answers."""
        try:
            experiments = self.client.search_experiments(max_results=1)
        except BackendUnavailable:
            raise
        except Exception as exc:
            raise BackendUnavailable(f"MLflow store did not answer: {exc}") from exc
        import mlflow

        scheme = self.tracking_uri.split(":", 1)[0]
        return f"mlflow {mlflow.__version__}, {scheme} store, {len(experiments)}+ experiment(s)"
