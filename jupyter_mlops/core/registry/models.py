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

import html
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
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
    ms_to_datetime,
    parse_model_ref,
    resolve_workspace,
    short_list,
    validate_alias,
    validate_model_name,
)
from ._data import parse_dataset_source

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_ARTIFACTS_LISTED = 200
TAG_MODEL_ID = "mlops.model_id"
TAG_SOURCE_URI = "mlops.source_uri"
TAG_FLAVOR = "mlops.flavor"
TAG_ACTOR = "mlops.registered_by"


# -- value objects --------------------------------------------------------------------------
@dataclass
class ModelVersion:
    """One registered version, with what its run says about it (metrics, data, notebook)."""

    name: str
    version: int
    aliases: list[str] = field(default_factory=list)
    run_id: str | None = None
    model_id: str | None = None
    source: str | None = None          # where the artifacts are stored
    source_uri: str | None = None      # what it was registered from
    flavor: str | None = None
    status: str | None = None
    description: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    notebook: str | None = None
    output_notebook: str | None = None
    git_commit: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    user: str | None = None

    @property
    def source_notebook(self) -> str | None:
        """The executed notebook when a pipeline ran it (papermill output), else the notebook."""
        return self.output_notebook or self.notebook

    @property
    def uri(self) -> str:
        """`models:/name/3`: what MLflow's loaders and servers accept."""
        return f"models:/{self.name}/{self.version}"

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        import math

        return {
            "name": self.name, "version": self.version, "ref": self.ref, "uri": self.uri,
            "aliases": list(self.aliases), "run_id": self.run_id, "model_id": self.model_id,
            "source": self.source, "source_uri": self.source_uri, "flavor": self.flavor,
            "status": self.status, "description": self.description,
            "created": self.created.isoformat() if self.created else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "tags": dict(self.tags),
            "metrics": {k: (v if isinstance(v, float) and math.isfinite(v) else None)
                        for k, v in self.metrics.items()},
            "params": dict(self.params), "datasets": [dict(d) for d in self.datasets],
            "source_notebook": self.source_notebook, "notebook": self.notebook,
            "output_notebook": self.output_notebook, "git_commit": self.git_commit,
            "experiment_id": self.experiment_id, "run_name": self.run_name, "user": self.user,
        }

    def __str__(self) -> str:
        aliases = f" @{', @'.join(self.aliases)}" if self.aliases else ""
        return f"{self.name} v{self.version}{aliases}"

    def _repr_html_(self) -> str:
        esc = html.escape
        badges = "".join(f'<span class="jp-mlops-badge">@{esc(a)}</span> ' for a in self.aliases)
        rows = [("run", self.run_id or ""), ("flavor", self.flavor or ""),
                ("notebook", self.source_notebook or ""), ("commit", (self.git_commit or "")[:12]),
                ("datasets", ", ".join(d.get("ref") or d.get("name", "") for d in self.datasets)),
                ("metrics", ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.metrics.items())))]
        body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(str(v))}</td></tr>"
                       for k, v in rows if v)
        return (f'<div class="jp-mlops-model-version"><b>{esc(self.name)}</b> v{self.version} '
                f"{badges}<table>{body}</table></div>")


@dataclass
class RegisteredModel:
    """A registered model: its aliases, its latest version, its protected aliases."""

    name: str
    description: str | None
    latest_version: int | None
    aliases: dict[str, int]
    protected: list[str]
    tags: dict[str, str]
    created: datetime | None
    updated: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "latest_version": self.latest_version, "aliases": dict(self.aliases),
                "protected": list(self.protected), "tags": dict(self.tags),
                "created": self.created.isoformat() if self.created else None,
                "updated": self.updated.isoformat() if self.updated else None}


# -- lookups --------------------------------------------------------------------------------
def _code(exc: BaseException) -> str | None:
    return getattr(exc, "error_code", None)


def _model_names(client: Any) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        names.extend(m.name for m in page)
        token = page.token
        if not token:
            return sorted(names)


def _registered(ws: Workspace, client: Any, name: str) -> Any:
    """MLflow's RegisteredModel, or NotFound listing the models that exist."""
    with mlflow_errors(ws.tracking_uri):
        try:
            return client.get_registered_model(name)
        except Exception as exc:
            if _code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
            existing = _model_names(client)
    raise NotFound(f"Model {name!r} is not registered. Registered models: "
                   f"{short_list(existing)}.", details={"model": name, "models": existing})


def require_model(ws: Workspace, name: str) -> Any:
    """The registered model `name` (MLflow's entity); NotFound listing the models otherwise."""
    return _registered(ws, client_of(ws), validate_model_name(name))


def _version_numbers(ws: Workspace, client: Any, name: str) -> list[int]:
    with mlflow_errors(ws.tracking_uri):
        found = client.search_model_versions(f"name = '{name}'", max_results=10000)
    return sorted(int(v.version) for v in found)


def _describe(ws: Workspace, client: Any, name: str, registered: Any = None) -> str:
    registered = registered or _registered(ws, client, name)
    aliases = {a: int(v) for a, v in (registered.aliases or {}).items()}
    versions = _version_numbers(ws, client, name)
    alias_text = short_list([f"@{a} → v{v}" for a, v in sorted(aliases.items())])
    return f"Versions: {short_list([str(v) for v in versions])}; aliases: {alias_text}."


def fetch_version(ws: Workspace, ref: ModelRef, *, missing_alias_ok: bool = False) -> Any:
    """MLflow's ModelVersion for `ref`; NotFound naming what exists (None for a missing
    alias when `missing_alias_ok`)."""
    client = client_of(ws)
    registered = _registered(ws, client, ref.name)
    uri = ws.tracking_uri
    with mlflow_errors(uri):
        try:
            if ref.alias is not None:
                return client.get_model_version_by_alias(ref.name, ref.alias)
            if ref.version is not None:
                return client.get_model_version(ref.name, str(ref.version))
            latest = client.search_model_versions(f"name = '{ref.name}'", max_results=1,
                                                  order_by=["version_number DESC"])
            if latest:
                return latest[0]
        except Exception as exc:
            if _code(exc) not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
    if ref.alias is not None and missing_alias_ok:
        return None
    what = (f"no alias @{ref.alias}" if ref.alias is not None else
            f"no version {ref.version}" if ref.version is not None else "no versions")
    raise NotFound(f"Model {ref.name!r} has {what}. {_describe(ws, client, ref.name, registered)}",
                   details={"model": ref.name, "version": ref.version, "alias": ref.alias,
                            "versions": _version_numbers(ws, client, ref.name),
                            "aliases": dict(registered.aliases or {})})


def _datasets_of(run: Any) -> list[dict[str, Any]]:
    out = []
    for ds_input in (run.inputs.dataset_inputs if run is not None and run.inputs else []):
        ds = ds_input.dataset
        parsed = parse_dataset_source(ds.source)
        context = next((t.value for t in ds_input.tags if t.key == "mlflow.data.context"), None)
        entry = {"name": ds.name, "digest": ds.digest, "source": ds.source,
                 "source_type": ds.source_type, "context": context,
                 "version": parsed[1] if parsed else None,
                 "ref": f"{parsed[0]}@{parsed[1][:12]}" if parsed else None}
        out.append(entry)
    return out


def _get_run(ws: Workspace, client: Any, run_id: str | None) -> Any:
    if not run_id:
        return None
    try:
        with mlflow_errors(ws.tracking_uri):
            return client.get_run(run_id)
    except NotFound:
        return None  # a deleted run: the version stays, its context is gone


def to_model_version(ws: Workspace, mv: Any, *, with_run: bool = True,
                     run: Any = None) -> ModelVersion:
    """Our ModelVersion from MLflow's, enriched with its run (one extra query)."""
    client = client_of(ws)
    if with_run and run is None:
        run = _get_run(ws, client, mv.run_id)
    tags = dict(mv.tags or {})
    run_tags = dict(run.data.tags) if run is not None else {}
    return ModelVersion(
        name=mv.name, version=int(mv.version), aliases=sorted(mv.aliases or []),
        run_id=mv.run_id or None, model_id=tags.get(TAG_MODEL_ID) or getattr(mv, "model_id", None),
        source=mv.source, source_uri=tags.get(TAG_SOURCE_URI), flavor=tags.get(TAG_FLAVOR),
        status=str(mv.status) if mv.status is not None else None,
        description=mv.description or None,
        created=ms_to_datetime(mv.creation_timestamp),
        updated=ms_to_datetime(mv.last_updated_timestamp),
        tags={k: v for k, v in tags.items() if not k.startswith("mlops.")},
        metrics=dict(run.data.metrics) if run is not None else {},
        params=dict(run.data.params) if run is not None else {},
        datasets=_datasets_of(run),
        notebook=run_tags.get("mlops.notebook") or (
            run_tags.get("mlflow.source.name")
            if run_tags.get("mlflow.source.type") == "NOTEBOOK" else None),
        output_notebook=run_tags.get("mlops.output_notebook"),
        git_commit=run_tags.get("mlflow.source.git.commit"),
        experiment_id=str(run.info.experiment_id) if run is not None else None,
        run_name=run.info.run_name if run is not None else None,
        user=run_tags.get("mlflow.user") or (run.info.user_id if run is not None else None)
        or tags.get(TAG_ACTOR) or mv.user_id or None,
    )


def as_ref(obj: Any, version: Any = None) -> ModelRef:
    """A ModelRef from a ModelVersion, a reference string, or (name, version)."""
    if isinstance(obj, ModelVersion):
        return ModelRef(obj.name, version=obj.version)
    return parse_model_ref(obj, version)


def get_model_version(name: Any, version: Any = None, *,
                      workspace: Workspace | None = None) -> ModelVersion:
    """One version: `("churn", 3)`, `("churn", "champion")`, `"churn@champion"`, `"churn/3"`;
    `"churn"` alone is its latest version. NotFound names the versions and aliases that exist."""
    ws = resolve_workspace(workspace)
    return to_model_version(ws, fetch_version(ws, as_ref(name, version)))


def list_model_versions(name: str, *, workspace: Workspace | None = None,
                        with_runs: bool = True) -> list[ModelVersion]:
    """Every version of a model, newest first (with run metrics and datasets unless told not)."""
    validate_model_name(name)
    ws = resolve_workspace(workspace)
    client = client_of(ws)
    _registered(ws, client, name)
    with mlflow_errors(ws.tracking_uri):
        found = client.search_model_versions(f"name = '{name}'", max_results=10000)
    found = sorted(found, key=lambda v: int(v.version), reverse=True)
    return [to_model_version(ws, mv, with_run=with_runs) for mv in found]


def list_models(*, workspace: Workspace | None = None) -> list[RegisteredModel]:
    """Registered models, by name, with aliases and protected aliases."""
    from .aliases import protected_aliases_map

    ws = resolve_workspace(workspace)
    client = client_of(ws)
    out: list[Any] = []
    token = None
    with mlflow_errors(ws.tracking_uri):
        while True:
            page = client.search_registered_models(max_results=1000, page_token=token)
            out.extend(page)
            token = page.token
            if not token:
                break
    protected = protected_aliases_map(ws, [m.name for m in out])
    models = []
    for m in sorted(out, key=lambda m: m.name):
        latest = max((int(v.version) for v in (m.latest_versions or [])), default=None)
        models.append(RegisteredModel(
            name=m.name, description=m.description or None, latest_version=latest,
            aliases={a: int(v) for a, v in (m.aliases or {}).items()},
            protected=protected[m.name], tags=dict(m.tags or {}),
            created=ms_to_datetime(m.creation_timestamp),
            updated=ms_to_datetime(m.last_updated_timestamp)))
    return models


# -- resolving a source ---------------------------------------------------------------------
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
