"""Model references a deployment serves: `churn@champion`, `churn/3`, `runs:/…`, a folder.

`resolve_model()` turns what a user wrote into one version (`ResolvedModel`)
through the workspace's MLflow registry (or the registry capability when it
is installed, for its references and messages). A reference that names
nothing is a `NotFound` listing the registered models, so a typo is fixed
from the message alone.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, InvalidInput, NotFound
from ..workspace import Workspace
from .naming import _workspace


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to one version and where its files are."""

    key: str             #: `<model>/<version>`, what X-MLOps-Version says
    model_name: str
    model_version: str
    model_ref: str       #: what the user wrote (`churn@champion`)
    model_uri: str       #: `models:/churn/3`
    source: str          #: a local folder, or an artifact URI MLflow can download
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local_path(uri: str) -> str:
    if uri.startswith("file://"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return url2pathname(urlparse(uri).path)
    return uri


def resolve_model(ref: Any, *, workspace: Workspace | None = None) -> ResolvedModel:
    """`churn@champion`, `churn/3`, `churn:3`, `churn` (latest), `models:/…`, `runs:/…`,
    or a local folder with an `MLmodel` file."""
    ws = _workspace(workspace)
    if isinstance(ref, ResolvedModel):
        return ref
    if isinstance(ref, dict) and "key" in ref:
        return ResolvedModel(**ref)
    for attr in ("name", "version"):  # a registry ModelVersion-like object
        if not hasattr(ref, attr):
            break
    else:
        ref = f"{ref.name}/{ref.version}"
    if not isinstance(ref, (str, os.PathLike)) or not str(ref).strip():
        raise InvalidInput(f"A model reference is a string like 'churn@champion', got {ref!r}.")
    text = os.fspath(ref).strip()
    path = Path(_local_path(text)).expanduser()
    if not text.startswith(("models:/", "runs:/")) and (path / "MLmodel").is_file():
        digest = hashlib.sha256((path / "MLmodel").read_bytes()).hexdigest()[:8]
        name = path.resolve().name
        return ResolvedModel(f"{name}/{digest}", name, digest, text, str(path.resolve()),
                             str(path.resolve()))
    client = ws.mlflow.client
    from mlflow.exceptions import MlflowException

    try:
        if text.startswith("runs:/"):
            rest = text[len("runs:/"):]
            run_id, _, artifact = rest.partition("/")
            artifact = artifact.strip("/") or "model"
            name = artifact.rsplit("/", 1)[-1]
            source = client.get_run(run_id).info.artifact_uri.rstrip("/") + "/" + artifact
            return ResolvedModel(f"{name}/run-{run_id[:8]}", name, f"run-{run_id[:8]}", text,
                                 text, _local_path(source), run_id)
        body = text[len("models:/"):] if text.startswith("models:/") else text
        if body.startswith("m-") and "/" not in body and "@" not in body:
            logged = client.get_logged_model(body)
            short = body[2:10]
            return ResolvedModel(f"{logged.name}/{short}", logged.name, short, text, text,
                                 _local_path(logged.artifact_location),
                                 getattr(logged, "source_run_id", None))
        registry = _registry_lookup()
        if registry is not None:  # the registry capability: its references, its messages
            as_ref, download_uri = registry
            mv, source = download_uri(ws, as_ref(body))
            return ResolvedModel(f"{mv.name}/{mv.version}", mv.name, str(mv.version), text,
                                 f"models:/{mv.name}/{mv.version}", _local_path(source),
                                 mv.run_id)
        name, version = _parse_registry_ref(body)
        if version is None:
            found = client.search_model_versions(f"name = '{name}'")
            if not found:
                raise NotFound(f"Model {name!r} has no versions in the registry.")
            mv = max(found, key=lambda v: int(v.version))
        elif version.isdigit():
            mv = client.get_model_version(name, version)
        else:
            mv = client.get_model_version_by_alias(name, version)
        source = client.get_model_version_download_uri(name, mv.version)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or \
                "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
            raise NotFound(f"No model version for {text!r} in the registry: "
                           f"{exc.message if hasattr(exc, 'message') else exc}",
                           details={"model": text}) from None
        raise BackendUnavailable(f"The MLflow registry did not answer for {text!r}: {exc}") \
            from None
    return ResolvedModel(f"{mv.name}/{mv.version}", mv.name, str(mv.version), text,
                         f"models:/{mv.name}/{mv.version}", _local_path(source), mv.run_id)


def _registry_lookup() -> tuple[Any, Any] | None:
    """The registry capability's reference parser and version lookup, when installed."""
    try:
        from ..registry.models import as_ref, download_uri
    except ImportError:
        return None
    return as_ref, download_uri


def _parse_registry_ref(text: str) -> tuple[str, str | None]:
    if "@" in text:
        name, _, alias = text.rpartition("@")
        if not name or not alias:
            raise InvalidInput(f"Cannot read model reference {text!r}; use name@alias.")
        return name, alias
    for sep in ("/", ":"):
        if sep in text:
            name, _, version = text.rpartition(sep)
            version = version[1:] if version[:1] in ("v", "V") and version[1:].isdigit() \
                else version
            if not name or not version:
                raise InvalidInput(f"Cannot read model reference {text!r}; use name/version.")
            if version.lower() == "latest":
                return name, None
            return name, version
    return text, None

