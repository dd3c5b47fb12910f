"""REST routes of the experiments capability: thin over `jupyter_mlops.core.tracking`.

Every MLflow call runs in a thread (`self.blocking`): a search over a remote
tracking server may take seconds and must not stall other users' requests.
Errors are the core's (`NotFound` naming the id → 404, a store that does not
answer → 503 naming the URI, a bad filter → 400), mapped once in `errors.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.web

from ..core.errors import OutsideWorkspace
from ..core.tracking import compare_runs, get_run, list_experiments, metric_history, search_runs
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .experiments_models import (
    CompareRequest,
    ComparisonResponse,
    ExperimentListResponse,
    MetricHistoryResponse,
    NotebookRef,
    RunDetailResponse,
    RunPageResponse,
    RunSearchQuery,
)

if TYPE_CHECKING:
    from .routes import Route


def notebook_ref(ws: Workspace, contents_root: Path, recorded: str | None) -> NotebookRef | None:
    """Where the browser can open a notebook a run recorded.

    Tags hold workspace-relative paths (or absolute ones for notebooks outside
    the workspace). `docmanager:open` wants a path relative to the Jupyter
    server's root, which is the workspace by default but need not be
    (`c.MLOps.workspace_dir`). A path outside the workspace is not offered:
    tags are data anyone with write access to the store could set.
    """
    if not recorded:
        return None
    try:
        absolute = ws.resolve_path(recorded)
    except OutsideWorkspace:
        return NotebookRef(recorded=recorded, path=None, exists=False)
    root = contents_root.resolve()
    openable = (absolute.relative_to(root).as_posix()
                if absolute == root or root in absolute.parents else None)
    return NotebookRef(recorded=recorded, path=openable, exists=absolute.is_file())


class _ExperimentsHandler(MLOpsHandler):
    """Shared helpers; not routed itself (it implements no HTTP method)."""

    @property
    def contents_root(self) -> Path:
        return Path(self.settings.get("server_root_dir") or self.workspace.root)

    def run_detail(self, run_id: str) -> RunDetailResponse:
        detail = get_run(run_id, workspace=self.workspace).to_dict()
        tags = detail["all_tags"]
        return RunDetailResponse(
            **detail,
            notebook=notebook_ref(self.workspace, self.contents_root,
                                  tags.get("mlops.notebook") or _source_notebook(tags)),
            output_notebook=notebook_ref(self.workspace, self.contents_root,
                                         tags.get("mlops.output_notebook")),
        )


def _source_notebook(tags: dict[str, Any]) -> str | None:
    """Runs logged with plain MLflow from a notebook name it only in mlflow.source.name."""
    if tags.get("mlflow.source.type") == "NOTEBOOK":
        return tags.get("mlflow.source.name")
    return None


class ExperimentsHandler(_ExperimentsHandler):
    operations = {"get": Operation("Active experiments, most recently updated first",
                                   ExperimentListResponse)}

    @tornado.web.authenticated
    async def get(self) -> None:
        found = await self.blocking(list_experiments, self.workspace)
        self.reply(ExperimentListResponse(experiments=[e.to_dict() for e in found]))


class RunsHandler(_ExperimentsHandler):
    operations = {"get": Operation(
        "One page of an experiment's runs (by id or name), filtered and ordered in the store",
        RunPageResponse, query=RunSearchQuery)}

    @tornado.web.authenticated
    async def get(self, experiment: str) -> None:
        query = self.parse_query(RunSearchQuery)
        page = await self.blocking(
            search_runs, experiment, filter=query.filter, order_by=query.order_by,
            page_size=query.page_size, page_token=query.page_token, workspace=self.workspace)
        self.reply(RunPageResponse(**page.to_dict()))


class RunHandler(_ExperimentsHandler):
    operations = {"get": Operation(
        "A run's params, metrics, tags, artifacts, dataset inputs and source notebook",
        RunDetailResponse)}

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.blocking(self.run_detail, run_id))


class MetricHistoryHandler(_ExperimentsHandler):
    operations = {"get": Operation("Every logged value of one metric of a run, by step",
                                   MetricHistoryResponse)}

    @tornado.web.authenticated
    async def get(self, run_id: str, key: str) -> None:
        history = await self.blocking(metric_history, run_id, key, workspace=self.workspace)
        self.reply(MetricHistoryResponse(**history.to_dict()))


class CompareHandler(_ExperimentsHandler):
    operations = {"post": Operation(
        "Runs side by side: params in common, params that differ, metrics by run",
        ComparisonResponse, body=CompareRequest)}

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(CompareRequest)
        comparison = await self.blocking(compare_runs, body.run_ids, workspace=self.workspace)
        self.reply(ComparisonResponse(**comparison.to_dict()))


_ID = r"(?P<{name}>[^/]+)"


def _routes() -> tuple[Route, ...]:
    from .routes import Route  # here, not at the top: routes.py imports this module

    return (
        Route("experiments", ExperimentsHandler, "experiments"),
        Route(f"experiments/{_ID.format(name='experiment')}/runs", RunsHandler, "experiments",
              example="experiments/0/runs", openapi="experiments/{experiment}/runs"),
        # before runs/<id>, which would otherwise take "compare" for a run id
        Route("runs/compare", CompareHandler, "experiments"),
        Route(f"runs/{_ID.format(name='run_id')}", RunHandler, "experiments",
              example="runs/0123456789abcdef0123456789abcdef", openapi="runs/{run_id}"),
        # metric keys may contain "/" (MLflow allows it): the rest of the path is the key
        Route(f"runs/{_ID.format(name='run_id')}/metrics/(?P<key>.+)", MetricHistoryHandler,
              "experiments", example="runs/0123456789abcdef0123456789abcdef/metrics/acc",
              openapi="runs/{run_id}/metrics/{key}"),
    )


EXPERIMENTS_ROUTES: tuple[Route, ...]  # annotation only: the value comes from __getattr__


def __getattr__(name: str) -> Any:
    """`EXPERIMENTS_ROUTES`, built on first access so that this module and routes.py
    can be imported in either order (each needs something of the other)."""
    if name == "EXPERIMENTS_ROUTES":
        value = _routes()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
