"""Registry routes: models, versions, aliases with history, promotion, gates, lineage.

Thin adapters over `core.registry`: the same functions a cell calls
(`register_model`, `promote`, `gate`, `lineage`), so a promotion from the
Models panel and one from `%%gate --promote` land in the same alias history.
Errors are the core's: an unknown model, version or alias is a 404 naming
what exists; a protected alias moved without a reason is refused naming the
rule (`protected-alias`, `reason-required`); a gate dataset lacking the
model's input columns is a 400 naming them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.web

from ..core.errors import Conflict, NotFound
from ..core.registry import (
    alias_history,
    gate,
    get_gate_result,
    get_model_version,
    lineage,
    list_gate_results,
    list_model_versions,
    list_models,
    promote,
    protected_aliases,
    remove_alias,
    set_alias,
)
from ..core.registry._common import validate_alias, validate_model_name
from ..core.registry.aliases import PROTECTED_RULE, AliasMove, require_known_alias
from ..core.registry.gate import GateResult
from ..core.registry.models import ModelVersion, require_model
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .experiments_handlers import notebook_ref
from .registry_models import (
    AliasDetail,
    AliasList,
    AliasListQuery,
    AliasMoveAnswer,
    AliasMoveModel,
    AliasRemoveQuery,
    AliasSet,
    GateList,
    GateListQuery,
    GateRequest,
    GateResultModel,
    LineageModel,
    ModelDetail,
    ModelVersionList,
    ModelVersionModel,
    RegistryPromoteRequest,
    RegisteredModelList,
    RegisteredModelModel,
)

if TYPE_CHECKING:
    from .routes import Route

_NAME = r"(?P<name>[^/]+)"
_VERSION = r"(?P<version>[^/]+)"
_ALIAS = r"(?P<alias>[^/]+)"
_GATE = r"(?P<gate_id>[0-9]{1,12})"


# -- conversions -----------------------------------------------------------------------------
def _openable(ws: Workspace, contents_root: Path, recorded: str | None) -> str | None:
    ref = notebook_ref(ws, contents_root, recorded)
    return ref.path if ref is not None and ref.exists else None


def version_model(ws: Workspace, contents_root: Path, mv: ModelVersion) -> ModelVersionModel:
    return ModelVersionModel(**mv.to_dict(),
                             notebook_path=_openable(ws, contents_root, mv.source_notebook))


def move_model(move: AliasMove) -> AliasMoveModel:
    return AliasMoveModel(**move.to_dict())


def gate_model(result: GateResult) -> GateResultModel:
    return GateResultModel(**result.to_dict(), verdict=result.verdict(),
                           headline=result.headline())


# -- work done off the event loop ------------------------------------------------------------
def _models(ws: Workspace) -> RegisteredModelList:
    return RegisteredModelList(models=[RegisteredModelModel(**m.to_dict())
                                       for m in list_models(workspace=ws)])


def _model(ws: Workspace, root: Path, name: str) -> ModelDetail:
    require_model(ws, validate_model_name(name))  # 404 listing the registered models
    found = next(m for m in list_models(workspace=ws) if m.name == name)
    versions = [version_model(ws, root, v) for v in list_model_versions(name, workspace=ws)]
    return ModelDetail(**found.to_dict(), versions=versions)


def _versions(ws: Workspace, root: Path, name: str) -> ModelVersionList:
    versions = list_model_versions(name, workspace=ws)
    return ModelVersionList(name=name, versions=[version_model(ws, root, v) for v in versions])


def _version(ws: Workspace, root: Path, name: str, version: str) -> ModelVersionModel:
    return version_model(ws, root, get_model_version(name, version, workspace=ws))


def _current_aliases(ws: Workspace, name: str) -> dict[str, int]:
    registered = require_model(ws, validate_model_name(name))
    return {a: int(v) for a, v in sorted((registered.aliases or {}).items())}


def _aliases(ws: Workspace, name: str, query: AliasListQuery) -> AliasList:
    current = _current_aliases(ws, name)
    history = alias_history(name, query.alias, limit=query.limit, workspace=ws)
    return AliasList(name=name, aliases=current,
                     protected=protected_aliases(name, workspace=ws),
                     history=[move_model(m) for m in history])


def _alias(ws: Workspace, name: str, alias: str, *, must_exist: bool = True) -> AliasDetail:
    validate_alias(alias)
    current = _current_aliases(ws, name)
    history = alias_history(name, alias, workspace=ws)
    if must_exist:
        require_known_alias(name, alias, current, history, ws)
    return AliasDetail(name=name, alias=alias, version=current.get(alias),
                       protected=alias in protected_aliases(name, workspace=ws),
                       history=[move_model(m) for m in history])


def _set(ws: Workspace, name: str, alias: str, body: AliasSet) -> AliasMoveAnswer:
    """A protected alias moves only with a reason, and then as a promotion (recorded so)."""
    validate_model_name(name)
    validate_alias(alias)
    reason = (body.reason or "").strip() or None
    if alias in protected_aliases(name, workspace=ws):
        if reason is None:
            raise Conflict(
                f"Alias {alias!r} of model {name!r} is protected (rule '{PROTECTED_RULE}'): it "
                "moves only with a reason, as a promotion, or through a passing gate. Send a "
                "reason with the move.",
                details={"rule": PROTECTED_RULE, "model": name, "alias": alias, "via": "rest"})
        move = promote(name, body.version, alias, reason, workspace=ws)
    else:
        move = set_alias(name, alias, body.version, reason, workspace=ws)
    return AliasMoveAnswer(moved=move is not None, move=move_model(move) if move else None,
                           alias=_alias(ws, name, alias, must_exist=False))


def _remove(ws: Workspace, name: str, alias: str, reason: str | None) -> AliasMoveAnswer:
    _alias(ws, name, alias)  # 404 for an alias that never existed
    if alias not in _current_aliases(ws, name):
        raise NotFound(f"Alias @{alias} of {name!r} was already removed.",
                       details={"model": name, "alias": alias})
    move = remove_alias(name, alias, reason, workspace=ws)
    return AliasMoveAnswer(moved=move is not None, move=move_model(move) if move else None,
                           alias=_alias(ws, name, alias, must_exist=False))


def _promote(ws: Workspace, name: str, body: RegistryPromoteRequest) -> AliasMoveAnswer:
    move = promote(name, body.version, body.alias, body.reason, workspace=ws)
    return AliasMoveAnswer(moved=move is not None, move=move_model(move) if move else None,
                           alias=_alias(ws, name, body.alias, must_exist=False))


def _gate(ws: Workspace, body: GateRequest) -> GateResultModel:
    result = gate(body.model, challenger=body.challenger, against=body.against,
                  dataset=body.dataset, metrics=body.metric_spec(), target=body.target,
                  task=body.task, pos_label=body.pos_label, promote=body.promote,
                  alias=body.alias, reason=body.reason, workspace=ws)
    return gate_model(result)


def _gates(ws: Workspace, query: GateListQuery) -> GateList:
    if query.model is not None:
        require_model(ws, validate_model_name(query.model))
    results = list_gate_results(query.model, limit=query.limit, workspace=ws)
    return GateList(gates=[gate_model(r) for r in results])


def _lineage(ws: Workspace, root: Path, name: str, version: str) -> LineageModel:
    graph = lineage(name, version, workspace=ws).to_dict()
    for node in graph["nodes"]:
        opener: dict[str, Any] | None = node.get("open")
        if opener and opener.get("type") == "notebook":
            # the core speaks workspace-relative paths; docmanager wants server-root ones
            path = _openable(ws, root, opener.get("path"))
            node["open"] = {**opener, "path": path} if path else None
    return LineageModel(**graph)


# -- handlers --------------------------------------------------------------------------------
class _RegistryHandler(MLOpsHandler):
    """Shared helpers; not routed itself (it implements no HTTP method)."""

    @property
    def contents_root(self) -> Path:
        return Path(self.settings.get("server_root_dir") or self.workspace.root)


class ModelsHandler(_RegistryHandler):
    operations = {"get": Operation("Registered models with their aliases", RegisteredModelList)}

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.blocking(_models, self.workspace))


class ModelHandler(_RegistryHandler):
    operations = {"get": Operation("One registered model with its versions (metrics, datasets, "
                                   "source notebook, run)", ModelDetail)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.blocking(_model, self.workspace, self.contents_root, name))


class VersionsHandler(_RegistryHandler):
    operations = {"get": Operation("A model's versions, newest first", ModelVersionList)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.blocking(_versions, self.workspace, self.contents_root, name))


class VersionHandler(_RegistryHandler):
    operations = {"get": Operation("One version, by number or alias", ModelVersionModel)}

    @tornado.web.authenticated
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.blocking(_version, self.workspace, self.contents_root, name,
                                       version))


class LineageHandler(_RegistryHandler):
    operations = {"get": Operation("A version's lineage: run, notebooks, dataset versions, "
                                   "commit, environment", LineageModel)}

    @tornado.web.authenticated
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.blocking(_lineage, self.workspace, self.contents_root, name,
                                       version))


class AliasesHandler(_RegistryHandler):
    operations = {"get": Operation("A model's aliases now, which are protected, and the "
                                   "history of their moves", AliasList, query=AliasListQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(AliasListQuery)
        self.reply(await self.blocking(_aliases, self.workspace, name, query))


class AliasHandler(_RegistryHandler):
    operations = {
        "get": Operation("One alias: its version and its history", AliasDetail),
        "put": Operation("Point the alias at a version; a protected alias needs a reason (it "
                         "is then a promotion)", AliasMoveAnswer, body=AliasSet),
        "delete": Operation("Remove the alias (refused for a protected one)", AliasMoveAnswer,
                            query=AliasRemoveQuery),
    }

    @tornado.web.authenticated
    async def get(self, name: str, alias: str) -> None:
        self.reply(await self.blocking(_alias, self.workspace, name, alias))

    @tornado.web.authenticated
    async def put(self, name: str, alias: str) -> None:
        body = self.parse_body(AliasSet)
        self.reply(await self.blocking(_set, self.workspace, name, alias, body))

    @tornado.web.authenticated
    async def delete(self, name: str, alias: str) -> None:
        query = self.parse_query(AliasRemoveQuery)
        self.reply(await self.blocking(_remove, self.workspace, name, alias, query.reason))


class PromoteHandler(_RegistryHandler):
    operations = {"post": Operation("Move an alias (champion by default) to a version, with a "
                                    "required reason", AliasMoveAnswer, body=RegistryPromoteRequest)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_body(RegistryPromoteRequest)
        self.reply(await self.blocking(_promote, self.workspace, name, body))


class GatesHandler(_RegistryHandler):
    operations = {
        "get": Operation("Recorded gate decisions, newest first", GateList, query=GateListQuery),
        "post": Operation("Score a challenger against the champion on a held-out dataset "
                          "version, decide, record, and promote when asked", GateResultModel,
                          body=GateRequest, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(GateListQuery)
        self.reply(await self.blocking(_gates, self.workspace, query))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(GateRequest)
        self.reply(await self.blocking(_gate, self.workspace, body), status=201)


class GateHandler(_RegistryHandler):
    operations = {"get": Operation("One recorded gate decision", GateResultModel)}

    @tornado.web.authenticated
    async def get(self, gate_id: str) -> None:
        result = await self.blocking(get_gate_result, int(gate_id), workspace=self.workspace)
        self.reply(gate_model(result))


def _routes() -> tuple[Route, ...]:
    from .routes import Route  # here, not at the top: routes.py imports this module

    model = f"registry/models/{_NAME}"
    return (
        Route("registry/models", ModelsHandler, "registry"),
        Route(model, ModelHandler, "registry", example="registry/models/churn",
              openapi="registry/models/{name}"),
        Route(f"{model}/versions", VersionsHandler, "registry",
              example="registry/models/churn/versions", openapi="registry/models/{name}/versions"),
        Route(f"{model}/versions/{_VERSION}", VersionHandler, "registry",
              example="registry/models/churn/versions/1",
              openapi="registry/models/{name}/versions/{version}"),
        Route(f"{model}/versions/{_VERSION}/lineage", LineageHandler, "registry",
              example="registry/models/churn/versions/1/lineage",
              openapi="registry/models/{name}/versions/{version}/lineage"),
        Route(f"{model}/aliases", AliasesHandler, "registry",
              example="registry/models/churn/aliases", openapi="registry/models/{name}/aliases"),
        Route(f"{model}/aliases/{_ALIAS}", AliasHandler, "registry",
              example="registry/models/churn/aliases/champion",
              openapi="registry/models/{name}/aliases/{alias}"),
        Route(f"{model}/promote", PromoteHandler, "registry",
              example="registry/models/churn/promote", openapi="registry/models/{name}/promote"),
        Route("registry/gates", GatesHandler, "registry"),
        Route(f"registry/gates/{_GATE}", GateHandler, "registry", example="registry/gates/1",
              openapi="registry/gates/{gate_id}"),
    )


REGISTRY_ROUTES: tuple[Route, ...]  # annotation only: the value comes from __getattr__


def __getattr__(name: str) -> Any:
    """`REGISTRY_ROUTES`, built on first access so that this module and routes.py can be
    imported in either order (each needs something of the other)."""
    if name == "REGISTRY_ROUTES":
        value = _routes()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
