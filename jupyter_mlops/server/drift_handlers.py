"""Drift routes: run a check between two dataset versions, its history, figures, HTML.

Thin adapters over `core.drift`: a check is `compare_sources(..., record=True)`,
so it lands in the same history as checks made in notebooks; figures and the
HTML export are redrawn from the stored report, never from the data.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ..core.drift.history import DriftCheck, get_check, list_checks
from ..core.drift.report import ColumnDrift, DriftReport
from ..core.errors import NotFound
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .drift_models import (
    ColumnDriftModel,
    DriftCheckCreate,
    DriftCheckDetail,
    DriftCheckList,
    DriftCheckListQuery,
    DriftCheckModel,
    DriftFigureQuery,
    DriftHtmlQuery,
    DriftReportModel,
    PlotlyFigure,
)
from .routes import Route

_ID = r"(?P<check_id>[0-9]{1,12})"


# -- work done off the event loop ------------------------------------------------------------
def report_model(data: dict[str, Any]) -> DriftReportModel:
    report = DriftReport.from_dict(data)
    columns = [ColumnDriftModel(**col, score=ColumnDrift.from_dict(col).score)
               for col in data.get("columns", [])]
    return DriftReportModel(
        drifted=report.drifted, share=report.share, n_drifted=report.n_drifted,
        n_evaluated=report.n_evaluated, n_columns=len(report.columns),
        drift_share=report.drift_share, headline=report.headline(),
        options=dict(data.get("options") or {}), columns=columns)


def detail_model(check: DriftCheck) -> DriftCheckDetail:
    return DriftCheckDetail(**check.to_dict(), report=report_model(check.report_data or {}))


def _run_check(ws: Workspace, body: DriftCheckCreate, actor: str | None) -> DriftCheckDetail:
    from ..core.drift.sources import compare_sources

    report = compare_sources(
        body.reference, body.current, columns=body.columns, column_kinds=body.column_kinds,
        tests=body.tests, thresholds=body.thresholds, drift_share=body.drift_share,
        sample=body.sample, bins=body.bins, reference_mode=body.reference_mode, record=True,
        workspace=ws, origin="rest", actor=actor)
    return detail_model(get_check(report.options["check_id"], ws))


def _list(ws: Workspace, query: DriftCheckListQuery) -> DriftCheckList:
    checks = list_checks(query.dataset, limit=query.limit, before_id=query.before_id,
                         workspace=ws)
    items = [DriftCheckModel(**c.to_dict()) for c in checks]
    return DriftCheckList(checks=items,
                          next_before_id=items[-1].id if len(items) == query.limit else None)


def _report_of(ws: Workspace, check_id: str) -> DriftReport:
    return get_check(int(check_id), ws).report


def _figure(ws: Workspace, check_id: str, column: str | None) -> PlotlyFigure:
    import plotly.io as pio

    report = _report_of(ws, check_id)
    if column:
        names = [c.name for c in report.columns]
        if column not in names:
            listed = ", ".join(names[:50])
            raise NotFound(f"Drift check {check_id} has no column {column!r}. Columns: {listed}.",
                           details={"column": column, "columns": names})
    fig = report.figure(column or None)
    return PlotlyFigure(**json.loads(pio.to_json(fig)))


def _html(ws: Workspace, check_id: str) -> str:
    from ..core.drift.render import report_page_html

    return report_page_html(_report_of(ws, check_id), include_plotlyjs="inline")


# -- handlers ----------------------------------------------------------------------------------
class DriftHandler(MLOpsHandler):
    operations = {"post": Operation("Compare two dataset versions column by column and keep "
                                    "the check in the history", DriftCheckDetail,
                                    body=DriftCheckCreate, status=201)}

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(DriftCheckCreate)
        self.reply(await self.blocking(_run_check, self.workspace, body, self.actor),
                   status=201)


class DriftChecksHandler(MLOpsHandler):
    operations = {"get": Operation("Past drift checks, newest first", DriftCheckList,
                                   query=DriftCheckListQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(DriftCheckListQuery)
        self.reply(await self.blocking(_list, self.workspace, query))


class DriftCheckHandler(MLOpsHandler):
    operations = {"get": Operation("One drift check with its report (a row per column)",
                                   DriftCheckDetail)}

    @tornado.web.authenticated
    async def get(self, check_id: str) -> None:
        check = await self.blocking(get_check, int(check_id), self.workspace)
        self.reply(detail_model(check))


class DriftFigureHandler(MLOpsHandler):
    operations = {"get": Operation("A check's plotly figure: scores vs thresholds, or one "
                                   "column's two distributions", PlotlyFigure,
                                   query=DriftFigureQuery)}

    @tornado.web.authenticated
    async def get(self, check_id: str) -> None:
        query = self.parse_query(DriftFigureQuery)
        self.reply(await self.blocking(_figure, self.workspace, check_id, query.column))


class DriftHtmlHandler(MLOpsHandler):
    operations = {"get": Operation("A check as a standalone HTML page (text/html, plotly.js "
                                   "inlined: opens offline)", None, query=DriftHtmlQuery)}

    @property
    def content_security_policy(self) -> str:
        """API answers forbid every script; this page runs its own inlined plotly.js, so
        scripts are allowed but sandboxed to a unique origin (as Jupyter serves HTML files)."""
        return super(APIHandler, self).content_security_policy + "; sandbox allow-scripts"

    @tornado.web.authenticated
    async def get(self, check_id: str) -> None:
        query = self.parse_query(DriftHtmlQuery)
        page = await self.blocking(_html, self.workspace, check_id)
        if query.download:
            self.set_header("Content-Disposition",
                            f'attachment; filename="drift-check-{int(check_id)}.html"')
        self.finish(page, set_content_type="text/html; charset=utf-8")


DRIFT_ROUTES: tuple[Route, ...] = (
    Route("drift", DriftHandler, "drift"),
    Route("drift/checks", DriftChecksHandler, "drift"),
    Route(f"drift/checks/{_ID}", DriftCheckHandler, "drift", example="drift/checks/1",
          openapi="drift/checks/{check_id}"),
    Route(f"drift/checks/{_ID}/figure", DriftFigureHandler, "drift",
          example="drift/checks/1/figure", openapi="drift/checks/{check_id}/figure"),
    Route(f"drift/checks/{_ID}/html", DriftHtmlHandler, "drift",
          example="drift/checks/1/html", openapi="drift/checks/{check_id}/html"),
)
