"""What a registration points at: a run's model, a runs:/ or models:/ URI, resolved to
the storage location, run and logged-model id MLflow's registry needs.

A run id means the run's model, either an MLflow 3 logged model linked to the
run or a classic artifact folder holding an `MLmodel` file; a run with none
says so and lists its artifacts, a run with several asks which one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, NotFound
from ..workspace import Workspace
from ._common import client_of, mlflow_errors, parse_model_ref, short_list
from .versions import TAG_FLAVOR, TAG_MODEL_ID, ModelVersion, _code, fetch_version

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_ARTIFACTS_LISTED = 200


@dataclass(frozen=True)
class _Source:
    storage: str
    run_id: str | None
    model_id: str | None
    source_uri: str
    flavor: str | None = None


def _list_artifacts(client: Any, run_id: str, limit: int = MAX_ARTIFACTS_LISTED) -> list[Any]:
    entries: list[Any] = []
    folders: list[str | None] = [None]
    while folders and len(entries) < limit:
        for item in client.list_artifacts(run_id, folders.pop(0)):
            entries.append(item)
            if item.is_dir:
                folders.append(item.path)
            if len(entries) >= limit:
                break
    return entries


def _logged_models_of(client: Any, run: Any) -> list[Any]:
    """Logged models linked to the run: its outputs, and any naming it as their source run."""
    found: dict[str, Any] = {}
    for output in (run.outputs.model_outputs if run.outputs else []):
        try:
            found[output.model_id] = client.get_logged_model(output.model_id)
        except Exception as exc:
            if _code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
    try:
        searched = client.search_logged_models(
            [str(run.info.experiment_id)],
            filter_string=f"source_run_id = '{run.info.run_id}'", max_results=100)
    except Exception as exc:  # an older tracking server without logged models
        if _code(exc) not in ("ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "BAD_REQUEST"):
            raise
        searched = []
    for lm in searched:
        found.setdefault(lm.model_id, lm)
    return [lm for lm in found.values() if str(lm.status) != "FAILED"
            and "FAILED" not in str(lm.status)]


def _run_or_404(ws: Workspace, client: Any, run_id: str) -> Any:
    with mlflow_errors(ws.tracking_uri, not_found=f"Run {run_id!r} not found."):
        try:
            return client.get_run(run_id)
        except Exception as exc:
            if _code(exc) == "INVALID_PARAMETER_VALUE":
                raise NotFound(f"Run {run_id!r} not found.", details={"run_id": run_id}) from exc
            raise


def _model_dirs(artifacts: list[Any]) -> list[str]:
    """Artifact folders that hold an MLflow model (an `MLmodel` file)."""
    dirs = []
    for item in artifacts:
        if not item.is_dir and item.path.rsplit("/", 1)[-1] == "MLmodel":
            dirs.append(item.path.rsplit("/", 1)[0] if "/" in item.path else "")
    return dirs


def _no_model(run_id: str, artifacts: list[Any], wanted: str | None = None) -> NotFound:
    paths = [a.path + ("/" if a.is_dir else "") for a in artifacts]
    what = f"no model at {wanted!r}" if wanted else "no logged model"
    return NotFound(
        f"Run {run_id} has {what}. Its artifacts: {short_list(paths)}. Log a model into the run "
        "(mlflow.<flavour>.log_model, or register_model(fitted_model, name) inside the run), or "
        "pass a runs:/ or models:/ URI.",
        details={"run_id": run_id, "artifacts": paths})


def _from_logged_model(lm: Any, source_uri: str) -> _Source:
    return _Source(storage=lm.artifact_location, run_id=lm.source_run_id or None,
                   model_id=lm.model_id, source_uri=source_uri,
                   flavor=(lm.tags or {}).get(TAG_FLAVOR))


def _from_run(ws: Workspace, client: Any, run_id: str, path: str | None) -> _Source:
    run = _run_or_404(ws, client, run_id)
    with mlflow_errors(ws.tracking_uri):
        artifacts = _list_artifacts(client, run_id)
        logged = _logged_models_of(client, run)
    base = run.info.artifact_uri.rstrip("/")
    dirs = _model_dirs(artifacts)
    if path is not None:
        path = path.strip("/")
        if path in dirs:
            return _Source(f"{base}/{path}" if path else base, run_id, None,
                           f"runs:/{run_id}/{path}")
        named = [lm for lm in logged if lm.name == path]
        if named:
            newest = max(named, key=lambda lm: lm.creation_timestamp or 0)
            return _from_logged_model(newest, f"runs:/{run_id}/{path}")
        raise _no_model(run_id, artifacts, path)
    candidates = [(f"runs:/{run_id}/{d}", "dir", d) for d in dirs] + \
                 [(f"models:/{lm.model_id}", "logged", lm) for lm in logged]
    if not candidates:
        raise _no_model(run_id, artifacts)
    if len(candidates) > 1:
        listed = [c[0] + (f" ({c[2].name})" if c[1] == "logged" else "") for c in candidates]
        raise InvalidInput(
            f"Run {run_id} has {len(candidates)} models: {', '.join(listed)}. Register one of "
            "these URIs instead of the run id.", details={"run_id": run_id, "candidates": listed})
    uri, kind, item = candidates[0]
    if kind == "dir":
        return _Source(f"{base}/{item}" if item else base, run_id, None, uri)
    return _from_logged_model(item, uri)


def _from_models_uri(ws: Workspace, client: Any, uri: str) -> _Source:
    rest = uri[len("models:/"):]
    if rest.startswith("m-") and "/" not in rest and "@" not in rest:
        with mlflow_errors(ws.tracking_uri, not_found=f"Logged model {rest!r} not found."):
            lm = client.get_logged_model(rest)
        return _from_logged_model(lm, uri)
    existing = fetch_version(ws, parse_model_ref(uri))
    with mlflow_errors(ws.tracking_uri):
        storage = client.get_model_version_download_uri(existing.name, existing.version)
    tags = dict(existing.tags or {})
    return _Source(storage, existing.run_id or None, tags.get(TAG_MODEL_ID), uri,
                   tags.get(TAG_FLAVOR))


def resolve_source(ws: Workspace, source: Any) -> _Source:
    client = client_of(ws)
    if isinstance(source, ModelVersion):
        return _from_models_uri(ws, client, source.uri)
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput(f"A model source is a run id, a runs:/ or models:/ URI, or a fitted "
                           f"model object with a predict() method; got {type(source).__name__}.")
    text = source.strip()
    if text.startswith("runs:/"):
        run_id, _, path = text[len("runs:/"):].partition("/")
        return _from_run(ws, client, run_id, path or None)
    if text.startswith("models:/"):
        return _from_models_uri(ws, client, text)
    if _RUN_ID.match(text) or "/" not in text and ":" not in text:
        return _from_run(ws, client, text, None)
    raise InvalidInput(f"Cannot register {text!r}: expected a run id, a runs:/<run>/<path> or "
                       "models:/ URI, or a fitted model object.")
