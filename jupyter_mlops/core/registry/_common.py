"""What every registry module shares: the workspace, names, references, MLflow errors.

References a person types name one version of a registered model:

    churn@champion      an alias
    churn/3             a version number (also `churn:3`)
    models:/churn/3     MLflow's URI forms, `models:/churn@champion` too

Our tracking core talks to MLflow only through a `MlflowClient` bound to the
workspace. A few MLflow code paths still read the process-global tracking URI
(loading a model from an `mlflow-artifacts:` location, registering from a
`models:/m-…` source without a run); `bound_mlflow_uris()` points the globals
at the workspace for the length of such a call and restores them after.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..tracking._mlflow import client_of, mlflow_errors
from ..workspace import Workspace

__all__ = ["ModelRef", "bound_mlflow_uris", "client_of", "mlflow_errors", "parse_model_ref",
           "resolve_workspace", "validate_alias", "validate_model_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,255}$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,255}$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_VERSION = re.compile(r"^v?(\d+)$")

_uri_lock = threading.RLock()


def resolve_workspace(workspace: Any) -> Workspace:
    """The given workspace, else the process's current one (`jupyter_mlops.workspace()`)."""
    from ..workspace import use_workspace

    return use_workspace(workspace)


def validate_model_name(name: Any) -> str:
    """Registered-model names: what MLflow accepts, minus the characters our references use."""
    if not isinstance(name, str) or not _NAME.match(name) or name != name.strip():
        raise InvalidInput(
            f"Invalid model name {name!r}: use 1 to 256 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit ('@', '/' and ':' are reserved for references).",
            details={"name": name})
    return name


def validate_alias(alias: Any) -> str:
    """MLflow's alias rules: a letter or '_' first; not `latest`, not `v<number>`."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or _RESERVED_ALIAS.match(alias):
        raise InvalidInput(
            f"Invalid alias {alias!r}: use letters, digits, '_' or '-', starting with a letter "
            "or '_'; 'latest' and 'v<number>' are reserved.", details={"alias": alias})
    return alias


def as_version_number(value: Any) -> int | None:
    """3, "3" and "v3" are version numbers; anything else is not (an alias, maybe)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        match = _VERSION.match(value.strip())
        if match:
            number = int(match.group(1))
            return number if number > 0 else None
    return None


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: the model and either a version number, an alias, or neither
    (the latest version)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}/{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_model_ref(ref: Any, version: Any = None) -> ModelRef:
    """`("churn", "champion")`, `("churn", 3)`, `"churn@champion"`, `"churn/3"`,
    `"models:/churn/3"`."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"A model reference must be a non-empty string, got {ref!r}.")
    text = ref.strip()
    if text.startswith("models:/"):
        text = text[len("models:/"):]
    name, which = text, None
    if version is None:
        for sep in ("@", "/", ":"):
            if sep in text:
                name, _, which = text.rpartition(sep)
                if sep == "@":
                    validate_model_name(name)
                    return ModelRef(name, alias=validate_alias(which))
                break
    else:
        which = version
    validate_model_name(name)
    if which is None or which == "":
        return ModelRef(name)
    if isinstance(which, str) and which.lower() == "latest":
        return ModelRef(name)
    number = as_version_number(which)
    if number is not None:
        return ModelRef(name, version=number)
    if isinstance(which, str):
        return ModelRef(name, alias=validate_alias(which))
    raise InvalidInput(f"A model version is a number or an alias, got {which!r}.")


@contextmanager
def bound_mlflow_uris(ws: Workspace) -> Iterator[None]:
    """Point MLflow's process-global tracking and registry URIs at the workspace, then restore.

    `mlflow.set_tracking_uri` also exports `MLFLOW_TRACKING_URI`, which our own
    workspace resolution honours: both the module state and the environment
    variables are put back exactly as they were (including "unset").
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _uri_lock:
        saved_tracking = tracking_utils._tracking_uri
        saved_registry = registry_utils._registry_uri
        saved_env = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI",
                                                           "MLFLOW_REGISTRY_URI")}
        same = saved_tracking == ws.tracking_uri and saved_registry in (None, ws.tracking_uri)
        if not same:
            mlflow.set_tracking_uri(ws.tracking_uri)
            mlflow.set_registry_uri(ws.mlflow.registry_uri)
        try:
            yield
        finally:
            if not same:
                mlflow.set_tracking_uri(saved_tracking)
                registry_utils._registry_uri = saved_registry
                for key, value in saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value


def ms_to_datetime(ms: int | None) -> Any:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None


def short_list(items: list[str], limit: int = 20) -> str:
    """`a, b, c` or `a, b, … (+12 more)`; `none` when empty."""
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, … (+{len(items) - limit} more)"
