"""The base handler every route inherits: parsing, off-loop calls, error answers."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel

from ..core.errors import InvalidInput
from ..core.identity import acting_as
from ..core.workspace import Workspace
from .errors import answer_for

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

#: the id jupyter_server's default identity provider makes up for a token holder
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")
#: settings key under which the app stores its Workspace
WORKSPACE_SETTING = "mlops_workspace"


@dataclass(frozen=True)
class Operation:
    """What one HTTP method of a handler takes and returns (feeds the OpenAPI document)."""

    summary: str
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200


class MLOpsHandler(ExtensionHandlerMixin, APIHandler):
    """Subclasses declare `operations` and implement the methods, decorated with
    `@tornado.web.authenticated` (the route tests fail the build otherwise)."""

    operations: ClassVar[dict[str, Operation]] = {}

    @property
    def workspace(self) -> Workspace:
        return self.settings[WORKSPACE_SETTING]

    @property
    def actor(self) -> str | None:
        """The user the server's identity provider named, or None for an anonymous holder
        of the server's token (jupyter_server makes up a random id per browser for those:
        the workbench records the OS or JupyterHub user instead)."""
        user: Any = self.current_user
        if isinstance(user, str):
            return user or None
        name = getattr(user, "username", None)
        if not name or (_ANONYMOUS_ID.fullmatch(name) and
                        str(getattr(user, "name", "")).startswith("Anonymous ")):
            return None
        return str(name)

    # -- input ------------------------------------------------------------------------------
    def parse_body(self, model: type[M]) -> M:
        raw = self.request.body or b""
        if not raw.strip():
            raise InvalidInput("The request body is empty; a JSON object was expected.")
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise InvalidInput(
                f"The request body must be a JSON object, not {type(payload).__name__}.")
        return model.model_validate(payload)

    def parse_query(self, model: type[M]) -> M:
        values: dict[str, Any] = {}
        for key, raw_values in self.request.query_arguments.items():
            if key.isdigit() and raw_values == [b""]:
                continue  # ServerConnection's cache buster (`?1732350000000`), not a parameter
            decoded = [v.decode("utf-8", "replace") for v in raw_values]
            values[key] = decoded[0] if len(decoded) == 1 else decoded
        return model.model_validate(values)

    # -- work off the event loop ------------------------------------------------------------
    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Database, MLflow and file work must not stall other users' requests; it runs
        as the request's user (alias moves, gates and events record who)."""
        call = functools.partial(fn, *args, **kwargs)
        actor = self.actor

        def as_actor() -> T:
            with acting_as(actor):
                return call()

        return await asyncio.get_running_loop().run_in_executor(None, as_actor)

    # -- output -----------------------------------------------------------------------------
    def reply(self, answer: BaseModel | dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(answer, BaseModel):
            self.finish(answer.model_dump_json())
        else:
            self.finish(json.dumps(answer, default=str))

    # -- errors: one mapping for every route --------------------------------------------------
    def _handle_request_exception(self, e: BaseException) -> None:
        answer = answer_for(e)
        if answer.status >= 500 and not answer.expected:
            self.log.error("jupyter-mlops error %s on %s %s", answer.error_id,
                           self.request.method, self.request.uri, exc_info=sys.exc_info())
        else:
            self.log.warning("%s %s -> %d %s", self.request.method, self.request.uri,
                             answer.status, answer.message)
        if self._finished:
            return
        self.send_error(answer.status, exc_info=sys.exc_info())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and exc_info[1] is not None:
            answer = answer_for(exc_info[1])
            body = answer.body()
        else:
            from http.client import responses

            body = {"code": "http_error", "message": responses.get(status_code, "HTTP error"),
                    "reason": responses.get(status_code, "")}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))
