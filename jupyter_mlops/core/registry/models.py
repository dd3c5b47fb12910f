"""Registered models and their versions, over the MLflow Model Registry of the workspace.

    mv = register_model(run.id, "churn", alias="challenger")   # the run's logged model
    mv = register_model(model, "churn", dataset="train@latest") # a fitted object
    get_model_version("churn@champion").metrics
    load_model("churn@champion").predict(frame)

What a source can be:

- a run id: the run's model, either an MLflow 3 logged model linked to the run
  (`mlflow.<flavour>.log_model(..., name=...)`, found through the run's outputs
  and `search_logged_models`) or a classic artifact folder holding an `MLmodel`
  file (`runs:/<id>/model`); a run with several asks which one;
- `runs:/<id>/<path>`: that artifact folder, else the run's logged model named `<path>`;
- `models:/m-…` (a logged model id), `models:/name/3` or `models:/name@alias`;
- a fitted model object: logged with its flavour into the active run (or the run
  given with `run_id=`, else a new run, so notebook, git and environment are
  recorded as for any run) with a signature from `dataset=`.

MLflow's SQLite registry does not keep a version's logged-model id; it is kept
in the version tag `mlops.model_id`, next to `mlops.source_uri` (what the
caller passed) and `mlops.flavor`.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from ..errors import Conflict, InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from ._common import (
    ModelRef,
    bound_mlflow_uris,
    client_of,
    mlflow_errors,
    resolve_workspace,
    validate_alias,
    validate_model_name,
)
# lookups and sources live in their own modules; re-exported: this is the public door
from .sources import MAX_ARTIFACTS_LISTED, _Source, resolve_source  # noqa: F401
from .versions import (  # noqa: F401
    TAG_ACTOR,
    TAG_FLAVOR,
    TAG_MODEL_ID,
    TAG_SOURCE_URI,
    ModelVersion,
    _code,
    RegisteredModel,
    as_ref,
    fetch_version,
    get_model_version,
    list_model_versions,
    list_models,
    require_model,
    to_model_version,
)


# -- registering ----------------------------------------------------------------------------
def _ensure_registered_model(ws: Workspace, client: Any, name: str) -> None:
    with mlflow_errors(ws.tracking_uri):
        try:
            client.create_registered_model(name)
        except Exception as exc:
            if _code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise


def _active_run_for(ws: Workspace) -> Any:
    from ..tracking import active_run

    run = active_run()
    if run is not None and run.workspace.tracking_uri == ws.tracking_uri:
        return run
    return None


def _log_object(ws: Workspace, obj: Any, name: str, *, run_id: str | None, dataset: Any,
                target: str | None, signature: Any, input_example: Any,
                pip_requirements: list[str] | None) -> _Source:
    from ..tracking import start_run
    from .flavors import log_model_object

    def log_into(rid: str) -> _Source:
        info = log_model_object(obj, run_id=rid, workspace=ws, dataset=dataset, target=target,
                                signature=signature, input_example=input_example,
                                pip_requirements=pip_requirements)
        return _Source(info.artifact_location, rid, info.model_id, info.uri, info.flavor)

    if run_id is not None:
        return log_into(run_id)
    active = _active_run_for(ws)
    if active is not None:
        return log_into(active.id)
    # no run to log into: one of our own, so the notebook, git and environment are recorded
    with start_run(name=f"register-{name}", tags={"mlops.registered_model": name},
                   workspace=ws) as run:
        return log_into(run.id)


def register_model(source: Any, name: str, alias: str | None = None,
                   tags: dict[str, Any] | None = None, *, dataset: Any = None,
                   target: str | None = None, run_id: str | None = None,
                   description: str | None = None, reason: str | None = None,
                   signature: Any = None, input_example: Any = None,
                   pip_requirements: list[str] | None = None,
                   workspace: Workspace | None = None) -> ModelVersion:
    """Register `source` (run id, runs:/ or models:/ URI, or a fitted model) as a new version.

    With a fitted model, `dataset` (`"train@v2"`, a DatasetVersion or a
    DataFrame) gives the signature and input example, `target` names its label
    column, and `run_id` picks the run to log into (default: the active run,
    else a new one). `alias` is set on the new version (recorded in the alias
    history with `reason`); a protected alias (`champion`) is refused here:
    it moves only through `promote()` or a passing `gate()`.
    """
    from .aliases import check_movable, move_alias

    from .flavors import is_model_object

    ws = resolve_workspace(workspace)
    validate_model_name(name)
    if alias is not None:
        validate_alias(alias)
        check_movable(ws, name, alias, via="register")
    str_tags = {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}
    client = client_of(ws)
    if is_model_object(source):
        resolved = _log_object(ws, source, name, run_id=run_id, dataset=dataset, target=target,
                               signature=signature, input_example=input_example,
                               pip_requirements=pip_requirements)
    else:
        if dataset is not None or signature is not None or input_example is not None:
            raise InvalidInput("dataset=, signature= and input_example= apply to a fitted model "
                               "object; a logged model already has its signature.")
        resolved = resolve_source(ws, source)
    version_tags = {**str_tags, TAG_SOURCE_URI: resolved.source_uri, TAG_ACTOR: current_actor()}
    if resolved.model_id:
        version_tags[TAG_MODEL_ID] = resolved.model_id
    if resolved.flavor:
        version_tags[TAG_FLAVOR] = resolved.flavor
    _ensure_registered_model(ws, client, name)
    # the storage location (not models:/m-…) keeps MLflow's registry store from looking the
    # logged model up through the process-global tracking URI; the one path where it still
    # does (a logged model without a source run) runs with the globals bound to the workspace
    needs_globals = resolved.run_id is None and resolved.model_id is not None
    with bound_mlflow_uris(ws) if needs_globals else nullcontext(), \
            mlflow_errors(ws.tracking_uri):
        mv = client.create_model_version(name, resolved.storage, run_id=resolved.run_id,
                                         tags=version_tags, description=description,
                                         model_id=resolved.model_id)
    if resolved.model_id:
        _link_logged_model(client, resolved.model_id, name, int(mv.version))
    record_event(ws, "registry.register", f"Registered {name} v{mv.version} from "
                 f"{resolved.source_uri}", subject=name,
                 data={"model": name, "version": int(mv.version), "source": resolved.source_uri,
                       "run_id": resolved.run_id, "model_id": resolved.model_id})
    if alias is not None:
        move_alias(ws, name, alias, int(mv.version), via="register", reason=reason)
    return get_model_version(name, int(mv.version), workspace=ws)


def _link_logged_model(client: Any, model_id: str, name: str, version: int) -> None:
    """What `mlflow.register_model` does too: the logged model lists its registered versions."""
    import json

    try:
        lm = client.get_logged_model(model_id)
        current = json.loads((lm.tags or {}).get("mlflow.modelVersions") or "[]")
        current.append({"name": name, "version": str(version)})
        client.set_logged_model_tags(model_id, {"mlflow.modelVersions": json.dumps(current)})
    except Exception:  # cosmetic (the MLflow UI's link); never fail a registration for it
        pass


# -- loading --------------------------------------------------------------------------------
def download_uri(ws: Workspace, ref: ModelRef) -> tuple[Any, str]:
    mv = fetch_version(ws, ref)
    client = client_of(ws)
    with mlflow_errors(ws.tracking_uri):
        return mv, client.get_model_version_download_uri(mv.name, mv.version)


def _load_pyfunc(ws: Workspace, uri: str) -> Any:
    import mlflow.pyfunc

    try:
        if uri.startswith(("file:", "/")):
            return mlflow.pyfunc.load_model(uri)
        with bound_mlflow_uris(ws):  # mlflow-artifacts:, runs:, models: read the global URI
            return mlflow.pyfunc.load_model(uri)
    except (InvalidInput, NotFound, Conflict):
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("mlflow", "skops", "pickle"):
            raise InvalidInput(f"Cannot load the model at {uri}: {exc}") from exc
        raise


def native_model(pyfunc_model: Any) -> Any:
    """The object behind a pyfunc model (sklearn estimator, booster, wrapped object), or None."""
    try:
        raw = pyfunc_model.get_raw_model()
    except Exception:
        raw = None
    if raw is None:
        try:
            raw = pyfunc_model.unwrap_python_model()
        except Exception:
            return None
    inner = getattr(raw, "model", None)
    if inner is not None and type(raw).__name__ == "PredictWrapper":
        return inner
    return raw


def load_model(ref: Any, version: Any = None, *, flavor: str = "pyfunc",
               workspace: Workspace | None = None) -> Any:
    """The model of a version as a pyfunc (`flavor="pyfunc"`) or as its native object
    (`flavor="native"`: the sklearn estimator, the booster, the wrapped object)."""
    if flavor not in ("pyfunc", "native"):
        raise InvalidInput(f"flavor must be 'pyfunc' or 'native', got {flavor!r}.")
    ws = resolve_workspace(workspace)
    _mv, uri = download_uri(ws, as_ref(ref, version))
    model = _load_pyfunc(ws, uri)
    return model if flavor == "pyfunc" else (native_model(model) or model)
