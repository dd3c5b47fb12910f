"""The few places where tracking touches MLflow directly: errors and experiments.

MLflow reports everything as `MlflowException` with an error code, or lets a
`requests`/SQLAlchemy error escape. Surfaces must only ever see our own
error classes (the server maps them to 400/404/409/503), so every MLflow call
in this package runs under `mlflow_errors()`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace, mask_url

#: the module prefixes of errors that mean "the store did not answer", not "our bug"
_BACKEND_MODULES = ("requests", "urllib3", "sqlalchemy", "sqlite3", "http", "socket", "ssl")
_INPUT_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "MALFORMED_REQUEST"}
_REMOTE_SCHEMES = ("http", "https", "databricks", "uc")


def _short(exc: BaseException, limit: int = 300) -> str:
    """MLflow messages can embed whole SQL statements; keep the first line readable."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first = str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"


def translate(exc: BaseException, uri: str, *, not_found: str | None = None) -> BaseException:
    """Our error class for an MLflow failure; non-store errors are returned unchanged."""
    if isinstance(exc, MLOpsError):
        return exc
    code = getattr(exc, "error_code", None)
    if code is not None:  # an MlflowException
        if code == "RESOURCE_DOES_NOT_EXIST":
            return NotFound(not_found or _short(exc))
        if code == "RESOURCE_ALREADY_EXISTS":
            return Conflict(_short(exc))
        if code in _INPUT_CODES and "database is locked" not in str(exc):
            return InvalidInput(_short(exc))
        return BackendUnavailable(
            f"The MLflow tracking store {mask_url(uri)} is unavailable: {_short(exc)}",
            details={"uri": mask_url(uri)},
        )
    module = type(exc).__module__ or ""
    if isinstance(exc, OSError) or module.split(".")[0] in _BACKEND_MODULES:
        return BackendUnavailable(
            f"The MLflow tracking store {mask_url(uri)} is unavailable: {_short(exc)}",
            details={"uri": mask_url(uri)},
        )
    return exc


@contextmanager
def mlflow_errors(uri: str, *, not_found: str | None = None) -> Iterator[None]:
    """Re-raise MLflow and transport failures as our error classes."""
    try:
        yield
    except MLOpsError:
        raise
    except Exception as exc:
        mapped = translate(exc, uri, not_found=not_found)
        if mapped is exc:
            raise
        raise mapped from exc


def client_of(ws: Workspace) -> Any:
    """The workspace's `MlflowClient` (BackendUnavailable names the URI if it cannot open)."""
    return ws.mlflow.client


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug[:48] or "experiment"


def artifact_location(ws: Workspace, name: str) -> str | None:
    """Where a new experiment keeps its artifacts: always under the workspace's root.

    Left to the server (None) only when a remote tracking server is paired with the
    default local artifact root, where our local path would mean nothing to it.
    The suffix keeps two experiments that slug alike (or a re-created one) apart.
    """
    scheme = ws.tracking_uri.split(":", 1)[0].lower()
    if scheme in _REMOTE_SCHEMES and ws.artifact_root.startswith("file:"):
        return None
    return f"{ws.artifact_root.rstrip('/')}/{_slug(name)}-{uuid.uuid4().hex[:8]}"


def find_experiment(client: Any, ws: Workspace, ref: str) -> Any | None:
    """An experiment by name, or by id when no experiment has that name."""
    with mlflow_errors(ws.tracking_uri):
        exp = client.get_experiment_by_name(ref)
        if exp is None and ref.isdigit():
            try:
                exp = client.get_experiment(ref)
            except Exception as exc:
                if getattr(exc, "error_code", None) != "RESOURCE_DOES_NOT_EXIST":
                    raise
    return exp


def require_experiment(client: Any, ws: Workspace, ref: str) -> Any:
    """Like `find_experiment`, but NotFound (naming the reference) when absent."""
    exp = find_experiment(client, ws, str(ref))
    if exp is None:
        raise NotFound(f"Experiment {ref!r} not found.", details={"experiment": str(ref)})
    return exp


def ensure_experiment(client: Any, ws: Workspace, name: str) -> str:
    """The id of the experiment `name`, created with a workspace artifact location if new."""
    if not name or not name.strip():
        raise InvalidInput("An experiment name must not be empty.")
    exp = find_experiment(client, ws, name)
    if exp is None:
        try:
            with mlflow_errors(ws.tracking_uri):
                location = artifact_location(ws, name)
                return str(client.create_experiment(name, artifact_location=location))
        except Conflict:  # another kernel created it between our lookup and create
            exp = find_experiment(client, ws, name)
            if exp is None:
                raise
    if exp.lifecycle_stage == "deleted":
        raise Conflict(
            f"Experiment {name!r} is deleted; restore it or choose another name.",
            details={"experiment": name},
        )
    return str(exp.experiment_id)
