"""Monitors, alerts and the timeline routes: thin adapters over `core.monitor` and
`core.timeline` (a monitor made here is the one `jupyter_mlops.monitor()` makes)."""

from __future__ import annotations


import tornado.web

from ..core.monitor import alerting, service
from ..core.monitor.check import run_check
from ..core.timeline import timeline_page
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .monitor_models import (
    AcknowledgeBody,
    AlertList,
    AlertListQuery,
    AlertModel,
    MonitorCheckModel,
    MonitorCreate,
    MonitorDeleted,
    MonitorHistory,
    MonitorHistoryQuery,
    MonitorList,
    MonitorListQuery,
    MonitorModel,
    MonitorPatch,
    MuteBody,
    TimelineItemModel,
    TimelineQuery,
    TimelineResponse,
)
from .routes import Route

_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]{0,127})"
_ID = r"(?P<alert_id>[0-9]{1,12})"


def _monitor(m: service.Monitor) -> MonitorModel:
    return MonitorModel(**m.to_dict())


def _create(ws: Workspace, body: MonitorCreate) -> MonitorModel:
    return _monitor(service.monitor(
        body.deployment, reference=body.reference, schedule=body.schedule, window=body.window,
        columns=body.columns, thresholds=body.thresholds, on_drift=body.on_drift,
        min_rows=body.min_rows, cooldown=body.cooldown, name=body.name, workspace=ws,
        tests=body.tests, drift_share=body.drift_share))


def _list(ws: Workspace, query: MonitorListQuery) -> MonitorList:
    return MonitorList(monitors=[_monitor(m) for m in
                                 service.monitors(deployment=query.deployment, workspace=ws)])


def _history(ws: Workspace, name: str, query: MonitorHistoryQuery) -> MonitorHistory:
    checks = service.check_history(name, limit=query.limit, before_id=query.before_id,
                                   workspace=ws)
    items = [MonitorCheckModel(**c.to_dict()) for c in checks]
    return MonitorHistory(checks=items,
                          next_before_id=items[-1].id if len(items) == query.limit else None)


def _alerts(ws: Workspace, query: AlertListQuery) -> AlertList:
    found = alerting.alerts(query.status, monitor=query.monitor, limit=query.limit,
                            before_id=query.before_id, workspace=ws)
    items = [AlertModel(**a.to_dict()) for a in found]
    return AlertList(alerts=items,
                     next_before_id=items[-1].id if len(items) == query.limit else None)


def _timeline(ws: Workspace, query: TimelineQuery) -> TimelineResponse:
    page = timeline_page(query.since, query.until, query.kinds, query.limit, query.before,
                         workspace=ws)
    return TimelineResponse(
        items=[TimelineItemModel(**i.to_dict()) for i in page.items],
        next_before=page.next_before.isoformat() if page.next_before else None,
        unavailable=page.unavailable)


class MonitorsHandler(MLOpsHandler):
    operations = {
        "get": Operation("Every monitor with its last check", MonitorList,
                         query=MonitorListQuery),
        "post": Operation("Create a monitor of a deployment, or update the one of that name",
                          MonitorModel, body=MonitorCreate, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(MonitorListQuery)
        self.reply(await self.blocking(_list, self.workspace, query))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(MonitorCreate)
        self.reply(await self.blocking(_create, self.workspace, body), status=201)


class MonitorHandler(MLOpsHandler):
    operations = {
        "get": Operation("One monitor with its last check and next check time", MonitorModel),
        "patch": Operation("Pause or resume a monitor", MonitorModel, body=MonitorPatch),
        "delete": Operation("Delete a monitor and its checks (its alerts are kept)",
                            MonitorDeleted),
    }

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        found = await self.blocking(service.get_monitor, name, workspace=self.workspace)
        self.reply(_monitor(found))

    @tornado.web.authenticated
    async def patch(self, name: str) -> None:
        body = self.parse_body(MonitorPatch)
        found = await self.blocking(service.update_monitor, name, paused=body.paused,
                                    workspace=self.workspace)
        self.reply(_monitor(found))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        await self.blocking(service.delete_monitor, name, workspace=self.workspace)
        self.reply(MonitorDeleted(name=name, deleted=True))


class MonitorCheckHandler(MLOpsHandler):
    operations = {"post": Operation("Check now: compare the window with the reference, alert "
                                    "and trigger on drift", MonitorCheckModel, status=201)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        check = await self.blocking(run_check, self.workspace, name)
        self.reply(MonitorCheckModel(**check.to_dict()), status=201)


class MonitorHistoryHandler(MLOpsHandler):
    operations = {"get": Operation("A monitor's checks, newest first", MonitorHistory,
                                   query=MonitorHistoryQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(MonitorHistoryQuery)
        self.reply(await self.blocking(_history, self.workspace, name, query))


class MonitorMuteHandler(MLOpsHandler):
    operations = {"post": Operation("No alerts from this monitor until a time (null unmutes)",
                                    MonitorModel, body=MuteBody)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.parse_body(MuteBody)
        found = await self.blocking(alerting.mute, name, body.until, workspace=self.workspace)
        self.reply(_monitor(found))


class AlertsHandler(MLOpsHandler):
    operations = {"get": Operation("Alerts, newest first", AlertList, query=AlertListQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(AlertListQuery)
        self.reply(await self.blocking(_alerts, self.workspace, query))


class AlertAcknowledgeHandler(MLOpsHandler):
    operations = {"post": Operation("Acknowledge an alert, with an optional note", AlertModel,
                                    body=AcknowledgeBody)}

    @tornado.web.authenticated
    async def post(self, alert_id: str) -> None:
        raw = (self.request.body or b"").strip()
        body = self.parse_body(AcknowledgeBody) if raw else AcknowledgeBody()
        alert = await self.blocking(alerting.acknowledge, int(alert_id), body.note,
                                    workspace=self.workspace, actor=self.actor)
        self.reply(AlertModel(**alert.to_dict()))


class TimelineHandler(MLOpsHandler):
    operations = {"get": Operation("Runs, snapshots, pipeline runs, gates, alias moves, "
                                   "deployment events, drift checks, alerts and events in one "
                                   "newest-first list", TimelineResponse, query=TimelineQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(TimelineQuery)
        self.reply(await self.blocking(_timeline, self.workspace, query))


MONITOR_ROUTES: tuple[Route, ...] = (
    Route("monitors", MonitorsHandler, "monitors"),
    Route(f"monitors/{_NAME}", MonitorHandler, "monitors", example="monitors/churn-api-drift",
          openapi="monitors/{name}"),
    Route(f"monitors/{_NAME}/check", MonitorCheckHandler, "monitors",
          example="monitors/churn-api-drift/check", openapi="monitors/{name}/check"),
    Route(f"monitors/{_NAME}/history", MonitorHistoryHandler, "monitors",
          example="monitors/churn-api-drift/history", openapi="monitors/{name}/history"),
    Route(f"monitors/{_NAME}/mute", MonitorMuteHandler, "monitors",
          example="monitors/churn-api-drift/mute", openapi="monitors/{name}/mute"),
    Route("alerts", AlertsHandler, "monitors"),
    Route(f"alerts/{_ID}/acknowledge", AlertAcknowledgeHandler, "monitors",
          example="alerts/1/acknowledge", openapi="alerts/{alert_id}/acknowledge"),
    Route("timeline", TimelineHandler, "monitors"),
)
