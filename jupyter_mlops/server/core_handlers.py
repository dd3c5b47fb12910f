"""Routes of the skeleton: what the server is, whether its stores answer, the activity log."""

from __future__ import annotations

import platform

import tornado.web

from .. import __version__
from ..core import events
from .base import MLOpsHandler, Operation
from .models import (
    Capability,
    ComponentStatus,
    ConfigResponse,
    EventCreate,
    EventListQuery,
    EventListResponse,
    EventModel,
    HealthResponse,
    WorkspacePaths,
)

API_VERSION = 1


class ConfigHandler(MLOpsHandler):
    operations = {"get": Operation("Version, workspace paths and capabilities of this server",
                                   ConfigResponse)}

    @tornado.web.authenticated
    async def get(self) -> None:
        from jupyter_server import __version__ as server_version

        from .capabilities import capability_list

        caps = capability_list(self.settings.get("mlops_routes", []))
        answer = ConfigResponse(
            version=__version__,
            api_version=API_VERSION,
            workspace=WorkspacePaths(**self.workspace.info()),
            capabilities=[Capability(**c) for c in caps],
            server={"jupyter_server": server_version, "python": platform.python_version()},
        )
        self.reply(answer)


class HealthHandler(MLOpsHandler):
    operations = {"get": Operation("Whether the state DB and the MLflow store answer",
                                   HealthResponse)}

    @tornado.web.authenticated
    async def get(self) -> None:
        results = await self.blocking(self.workspace.health)
        components = {name: ComponentStatus(**r.to_dict()) for name, r in results.items()}
        ok = all(c.ok for c in components.values())
        # 503 lets load balancers and probes act on the status alone
        self.reply(HealthResponse(ok=ok, components=components), status=200 if ok else 503)


class EventsHandler(MLOpsHandler):
    operations = {
        "get": Operation("The workspace activity log, newest first", EventListResponse,
                         query=EventListQuery),
        "post": Operation("Add a note to the activity log", EventModel, body=EventCreate,
                          status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(EventListQuery)
        records = await self.blocking(
            events.list_events, self.workspace, kind=query.kind, subject=query.subject,
            before_id=query.before_id, limit=query.limit)
        items = [EventModel(**r.to_dict()) for r in records]
        next_id = items[-1].id if len(items) == query.limit else None
        self.reply(EventListResponse(events=items, next_before_id=next_id))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(EventCreate)
        record = await self.blocking(events.record_event, self.workspace, body.kind,
                                     body.message, subject=body.subject, data=body.data,
                                     actor=self.actor)
        self.reply(EventModel(**record.to_dict()), status=201)
