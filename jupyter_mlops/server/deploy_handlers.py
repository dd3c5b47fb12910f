"""Deployment routes: create, list, inspect, roll out, promote, roll back, stop, delete.

Thin adapters over `core.deploy` (the same `deploy()` and `Deployment` a
notebook uses). Everything that may start or stop a model server, or talk
to a deployment's router, runs in a thread (`self.blocking`): a rollout
that waits a minute for a docker build never stalls other requests. The
mapping from core answers to API models lives in `deploy_views.py`.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from ..core.errors import NotFound
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .deploy_models import (
    DeleteQuery,
    DeploymentCreate,
    DeploymentDeleted,
    DeploymentEvent,
    DeploymentEventList,
    DeploymentList,
    DeploymentListQuery,
    DeploymentModel,
    EventsQuery,
    HealthModel,
    LogsModel,
    LogsQuery,
    PredictionPage,
    PredictionsQuery,
    PromoteRequest,
    RollbackRequest,
    ShadowComparisonModel,
    ShadowQuery,
    StartRequest,
    StrategyChange,
)
from .deploy_views import (
    deployment_model,
    empty_shadow,
    health_model,
    prediction_page,
    serves_model,
)
from .routes import Route

#: loose on purpose: a malformed name reaches `validate_name` and gets its 400 with the rule
_NAME = r"(?P<name>[^/]+)"


# -- work done off the event loop ------------------------------------------------------------
def _get(ws: Workspace, name: str) -> Any:
    from ..core.deploy import get_deployment

    return get_deployment(name, workspace=ws)


def _detail(ws: Workspace, name: str) -> DeploymentModel:
    return deployment_model(_get(ws, name).to_dict())


def _list(ws: Workspace, query: DeploymentListQuery) -> DeploymentList:
    from ..core.deploy import deployments, target_names

    items = []
    for dep in deployments(workspace=ws):
        try:
            state = dep.to_dict()
        except NotFound:  # deleted between the listing and the read
            continue
        if query.model and not serves_model(state, query.model):
            continue
        items.append(deployment_model(state))
    return DeploymentList(deployments=items, targets=target_names())


def _create(ws: Workspace, body: DeploymentCreate) -> tuple[DeploymentModel, bool]:
    """Deploy; whether a new deployment was created (else a rollout on an existing one)."""
    from ..core.deploy import deploy
    from ..core.deploy.state import deployment_names

    before = set(deployment_names(ws))
    dep = deploy(body.model, name=body.name, target=body.target, port=body.port,
                 strategy=body.strategy.to_core() if body.strategy else None,
                 target_options=body.target_options, workspace=ws, wait=body.wait)
    return deployment_model(dep.to_dict()), dep.name not in before


def _set_strategy(ws: Workspace, name: str, body: StrategyChange) -> DeploymentModel:
    dep = _get(ws, name)
    dep.set_strategy(body.strategy.to_core(), model=body.model)
    return deployment_model(dep.to_dict())


def _promote(ws: Workspace, name: str, body: PromoteRequest) -> DeploymentModel:
    dep = _get(ws, name)
    dep.promote(body.version, reason=body.reason)
    return deployment_model(dep.to_dict())


def _rollback(ws: Workspace, name: str, body: RollbackRequest) -> DeploymentModel:
    dep = _get(ws, name)
    dep.rollback(reason=body.reason)
    return deployment_model(dep.to_dict())


def _stop(ws: Workspace, name: str) -> DeploymentModel:
    dep = _get(ws, name)
    dep.stop()
    return deployment_model(dep.to_dict())


def _start(ws: Workspace, name: str, body: StartRequest) -> DeploymentModel:
    dep = _get(ws, name)
    dep.start(wait=body.wait)
    return deployment_model(dep.to_dict())


def _delete(ws: Workspace, name: str, query: DeleteQuery) -> DeploymentDeleted:
    dep = _get(ws, name)
    running = dep._alive()
    if running:
        dep.stop()
    dep.delete(purge_predictions=query.purge_predictions)
    return DeploymentDeleted(name=name, stopped=running, purged=query.purge_predictions)


def _health(ws: Workspace, name: str) -> HealthModel:
    from ..core.deploy.handle import health_report

    state = _get(ws, name).refresh()
    return health_model(name, state["status"], health_report(state))


def _predictions(ws: Workspace, name: str, query: PredictionsQuery) -> PredictionPage:
    from ..core.deploy import read_predictions

    _get(ws, name)
    frame = read_predictions(name, last=query.limit, until=query.before, version=query.version,
                             shadow=query.shadow, workspace=ws)
    return prediction_page(frame, query.limit)


def _shadow(ws: Workspace, name: str, query: ShadowQuery) -> ShadowComparisonModel:
    from ..core.deploy import shadow_comparison

    from ..core.deploy.predictions import read_log

    dep = _get(ws, name)
    if read_log(ws.predictions_dir, name, last=1).empty:
        return empty_shadow(dep.to_dict())  # nothing logged yet: an empty comparison
    comparison = shadow_comparison(name, since=query.since, last=query.last, workspace=ws)
    return ShadowComparisonModel(**comparison.to_dict())


def _events(ws: Workspace, name: str, query: EventsQuery) -> DeploymentEventList:
    events = _get(ws, name).events(limit=query.limit, before_id=query.before_id)
    items = [DeploymentEvent(**event) for event in events]
    return DeploymentEventList(events=items, next_before_id=items[-1].id
                               if len(items) == query.limit else None)


def _logs(ws: Workspace, name: str, query: LogsQuery) -> LogsModel:
    return LogsModel(name=name, text=_get(ws, name).logs(tail=query.tail, version=query.version))


# -- handlers ----------------------------------------------------------------------------------
class _DeployHandler(MLOpsHandler):
    def parse_optional_body(self, model: Any) -> Any:
        """Commands whose every field is optional take an empty body too."""
        if not (self.request.body or b"").strip():
            return model()
        return self.parse_body(model)


class DeploymentsHandler(_DeployHandler):
    operations = {
        "get": Operation("Every deployment with its URL, versions, traffic split, strategy "
                         "and rollout", DeploymentList, query=DeploymentListQuery),
        "post": Operation("Deploy a model: 201 for a new deployment, 200 for a rollout on an "
                          "existing one, 202 without waiting; 409 naming the port when it is "
                          "in use", DeploymentModel, body=DeploymentCreate, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(DeploymentListQuery)
        self.reply(await self.blocking(_list, self.workspace, query))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(DeploymentCreate)
        answer, created = await self.blocking(_create, self.workspace, body)
        self.reply(answer, status=202 if not body.wait else 201 if created else 200)


class DeploymentHandler(_DeployHandler):
    operations = {
        "get": Operation("One deployment: URL, versions with live weights and health "
                         "figures, strategy, canary progress", DeploymentModel),
        "delete": Operation("Stop the deployment if it runs, then delete it",
                            DeploymentDeleted, query=DeleteQuery),
    }

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.blocking(_detail, self.workspace, name))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        query = self.parse_query(DeleteQuery)
        self.reply(await self.blocking(_delete, self.workspace, name, query))


class StrategyHandler(_DeployHandler):
    operations = {"post": Operation(
        "Change the strategy; with `model`, roll that model out as the candidate "
        "(blue_green, canary with steps and bake, ab with weights, shadow)", DeploymentModel,
        body=StrategyChange)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_body(StrategyChange)
        self.reply(await self.blocking(_set_strategy, self.workspace, name, body))


class PromoteHandler(_DeployHandler):
    operations = {"post": Operation("The candidate takes all traffic now; the previous "
                                    "stable stays warm on standby", DeploymentModel,
                                    body=PromoteRequest)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_optional_body(PromoteRequest)
        self.reply(await self.blocking(_promote, self.workspace, name, body))


class RollbackHandler(_DeployHandler):
    operations = {"post": Operation("Drop the candidate, or switch back to the standby",
                                    DeploymentModel, body=RollbackRequest)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_optional_body(RollbackRequest)
        self.reply(await self.blocking(_rollback, self.workspace, name, body))


class StopHandler(_DeployHandler):
    operations = {"post": Operation("Stop gracefully (in-flight requests finish, the log is "
                                    "flushed); the deployment stays", DeploymentModel)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        self.reply(await self.blocking(_stop, self.workspace, name))


class StartHandler(_DeployHandler):
    operations = {"post": Operation("Start a stopped deployment on its port with its versions",
                                    DeploymentModel, body=StartRequest)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_optional_body(StartRequest)
        self.reply(await self.blocking(_start, self.workspace, name, body))


class HealthHandler(_DeployHandler):
    operations = {"get": Operation("Per version: liveness, request rate, error rate, p50/p95 "
                                   "latency over the last minute", HealthModel)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.blocking(_health, self.workspace, name))


class PredictionsHandler(_DeployHandler):
    operations = {"get": Operation("Recent requests from the prediction log, newest first, "
                                   "paged with `before`", PredictionPage,
                                   query=PredictionsQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(PredictionsQuery)
        self.reply(await self.blocking(_predictions, self.workspace, name, query))


class ShadowHandler(_DeployHandler):
    operations = {"get": Operation("Champion vs shadow: agreement rate and prediction drift",
                                   ShadowComparisonModel, query=ShadowQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(ShadowQuery)
        self.reply(await self.blocking(_shadow, self.workspace, name, query))


class EventsHandler(_DeployHandler):
    operations = {"get": Operation("The deployment's history (rollouts, steps, rollbacks, "
                                   "health changes), newest first", DeploymentEventList,
                                   query=EventsQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(EventsQuery)
        self.reply(await self.blocking(_events, self.workspace, name, query))


class LogsHandler(_DeployHandler):
    operations = {"get": Operation("The tail of the router's and each live version's log",
                                   LogsModel, query=LogsQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(LogsQuery)
        self.reply(await self.blocking(_logs, self.workspace, name, query))


def _sub(suffix: str, handler: type[MLOpsHandler]) -> Route:
    return Route(f"deployments/{_NAME}/{suffix}", handler, "deployments",
                 example=f"deployments/churn-api/{suffix}",
                 openapi=f"deployments/{{name}}/{suffix}")


DEPLOY_ROUTES: tuple[Route, ...] = (
    Route("deployments", DeploymentsHandler, "deployments"),
    Route(f"deployments/{_NAME}", DeploymentHandler, "deployments",
          example="deployments/churn-api", openapi="deployments/{name}"),
    _sub("strategy", StrategyHandler),
    _sub("promote", PromoteHandler),
    _sub("rollback", RollbackHandler),
    _sub("stop", StopHandler),
    _sub("start", StartHandler),
    _sub("health", HealthHandler),
    _sub("predictions", PredictionsHandler),
    _sub("shadow", ShadowHandler),
    _sub("events", EventsHandler),
    _sub("logs", LogsHandler),
)
