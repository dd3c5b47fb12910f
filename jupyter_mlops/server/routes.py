"""The handler table: every REST route of the extension, in one place.

Tests walk this table to prove that every method of every route rejects
unauthenticated requests and that `docs/openapi.yaml` documents exactly
these routes; a capability adds its routes here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import MLOpsHandler
from .core_handlers import ConfigHandler, EventsHandler, HealthHandler

#: URL prefix of every route, below the server's base_url
PREFIX = "jupyter-mlops"


@dataclass(frozen=True)
class Route:
    """One entry of the table.

    `pattern` is relative to the prefix and may hold named regex groups;
    `example` is a concrete path matching it (tests request it), `openapi`
    its templated form for the document.
    """

    pattern: str
    handler: type[MLOpsHandler]
    capability: str
    example: str | None = None
    openapi: str | None = None

    @property
    def example_path(self) -> str:
        return self.example if self.example is not None else self.pattern

    @property
    def openapi_path(self) -> str:
        return f"/{PREFIX}/{self.openapi if self.openapi is not None else self.pattern}"


from .experiments_handlers import EXPERIMENTS_ROUTES  # noqa: E402 - needs Route above
from .datasets_handlers import DATASETS_ROUTES  # noqa: E402 - needs Route above
from .drift_handlers import DRIFT_ROUTES  # noqa: E402 - needs Route above
from .pipelines_handlers import PIPELINES_ROUTES  # noqa: E402 - needs Route above
from .registry_handlers import REGISTRY_ROUTES  # noqa: E402 - needs Route above
from .deploy_handlers import DEPLOY_ROUTES  # noqa: E402 - needs Route above
from .monitor_handlers import MONITOR_ROUTES  # noqa: E402 - needs Route above
from .notify_handlers import NOTIFY_ROUTES  # noqa: E402 - needs Route above

ROUTES: tuple[Route, ...] = (
    Route("config", ConfigHandler, "core"),
    Route("health", HealthHandler, "core"),
    Route("events", EventsHandler, "core"),
    *EXPERIMENTS_ROUTES,
    *DATASETS_ROUTES,
    *DRIFT_ROUTES,
    *PIPELINES_ROUTES,
    *REGISTRY_ROUTES,
    *DEPLOY_ROUTES,
    *MONITOR_ROUTES,
    *NOTIFY_ROUTES,
)
