"""Registered models and their versions as the workbench shows them: lookups that name
what exists when something does not, enriched with what the version's run says (metrics,
dataset inputs, notebook, commit).

    get_model_version("churn@champion").metrics
    list_model_versions("churn")          # newest first, with their aliases
    list_models()                         # with aliases and protected aliases
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import NotFound
from ..workspace import Workspace
from ._common import (
    ModelRef,
    client_of,
    mlflow_errors,
    ms_to_datetime,
    parse_model_ref,
    resolve_workspace,
    short_list,
    validate_model_name,
)
from ._data import parse_dataset_source

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
    """Every version of a model, newest first, with its aliases (and run metrics and datasets
    unless told not).

    MLflow's search leaves versions' aliases empty (only a single-version read fills
    them), so they are taken from the registered model's alias map.
    """
    validate_model_name(name)
    ws = resolve_workspace(workspace)
    client = client_of(ws)
    registered = _registered(ws, client, name)
    aliases_of: dict[int, set[str]] = {}
    for alias, number in (registered.aliases or {}).items():
        aliases_of.setdefault(int(number), set()).add(alias)
    with mlflow_errors(ws.tracking_uri):
        found = client.search_model_versions(f"name = '{name}'", max_results=10000)
    found = sorted(found, key=lambda v: int(v.version), reverse=True)
    versions = [to_model_version(ws, mv, with_run=with_runs) for mv in found]
    for version in versions:
        version.aliases = sorted({*version.aliases, *aliases_of.get(version.version, ())})
    return versions


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
