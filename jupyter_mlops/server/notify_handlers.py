"""Webhook routes: thin adapters over `core.notify` (a webhook added here is the one
`jupyter mlops webhooks add` adds). Delivery itself runs in `notify_service.py`."""

from __future__ import annotations

import tornado.web

from ..core import notify
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .notify_models import (
    WebhookCreate,
    WebhookDeleted,
    WebhookDeliveryList,
    WebhookDeliveryModel,
    WebhookDeliveryQuery,
    WebhookList,
    WebhookModel,
    WebhookPatch,
    WebhookTestResult,
)
from .routes import Route

_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]{0,127})"


def _model(hook: notify.Webhook) -> WebhookModel:
    return WebhookModel(**hook.to_dict())


def _create(ws: Workspace, body: WebhookCreate) -> WebhookModel:
    return _model(notify.add_webhook(body.name, body.url, body.events, format=body.format,
                                     secret=body.secret, enabled=body.enabled, workspace=ws))


def _list(ws: Workspace) -> WebhookList:
    return WebhookList(webhooks=[_model(h) for h in notify.list_webhooks(workspace=ws)])


def _deliveries(ws: Workspace, name: str, query: WebhookDeliveryQuery) -> WebhookDeliveryList:
    found = notify.list_deliveries(name, query.limit, workspace=ws)
    return WebhookDeliveryList(deliveries=[WebhookDeliveryModel(**d.to_dict()) for d in found])


class WebhooksHandler(MLOpsHandler):
    operations = {
        "get": Operation("Every webhook, with its cursor and delivery state", WebhookList),
        "post": Operation("Add a webhook; it hears the events recorded from now on",
                          WebhookModel, body=WebhookCreate, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.blocking(_list, self.workspace))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(WebhookCreate)
        self.reply(await self.blocking(_create, self.workspace, body), status=201)


class WebhookHandler(MLOpsHandler):
    operations = {
        "get": Operation("One webhook", WebhookModel),
        "patch": Operation("Change a webhook's endpoint, events, format, secret or enable it",
                           WebhookModel, body=WebhookPatch),
        "delete": Operation("Remove a webhook and its deliveries log", WebhookDeleted),
    }

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(_model(await self.blocking(notify.get_webhook, name,
                                              workspace=self.workspace)))

    @tornado.web.authenticated
    async def patch(self, name: str) -> None:
        body = self.parse_body(WebhookPatch)
        hook = await self.blocking(notify.update_webhook, name, url=body.url, events=body.events,
                                   format=body.format, secret=body.secret, enabled=body.enabled,
                                   workspace=self.workspace)
        self.reply(_model(hook))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        await self.blocking(notify.remove_webhook, name, workspace=self.workspace)
        self.reply(WebhookDeleted(name=name, deleted=True))


class WebhookTestHandler(MLOpsHandler):
    operations = {"post": Operation("Post a synthetic notify.test event now; the endpoint's "
                                    "answer and latency", WebhookTestResult)}

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        result = await self.blocking(notify.test_webhook, name, workspace=self.workspace)
        self.reply(WebhookTestResult(**result))


class WebhookDeliveriesHandler(MLOpsHandler):
    operations = {"get": Operation("The webhook's delivery attempts, newest first",
                                   WebhookDeliveryList, query=WebhookDeliveryQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(WebhookDeliveryQuery)
        self.reply(await self.blocking(_deliveries, self.workspace, name, query))


NOTIFY_ROUTES: tuple[Route, ...] = (
    Route("webhooks", WebhooksHandler, "notifications"),
    Route(f"webhooks/{_NAME}", WebhookHandler, "notifications", example="webhooks/ops",
          openapi="webhooks/{name}"),
    Route(f"webhooks/{_NAME}/test", WebhookTestHandler, "notifications",
          example="webhooks/ops/test", openapi="webhooks/{name}/test"),
    Route(f"webhooks/{_NAME}/deliveries", WebhookDeliveriesHandler, "notifications",
          example="webhooks/ops/deliveries", openapi="webhooks/{name}/deliveries"),
)
