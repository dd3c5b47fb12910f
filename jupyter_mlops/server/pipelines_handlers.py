"""Pipelines routes: pipelines and their DAGs, runs (start, cancel, re-run, progress),
schedules (create, update, pause, resume, next fire times) and executed notebooks.

Thin adapters over `core.pipelines`: a run started here is `run_pipeline(...,
wait=False)` on the server's one executor (`PipelinesService`), so it is the
same run a cell or the CLI starts, and cancel reaches its kernels.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from ..core.errors import Conflict
from ..core.pipelines.executor import Executor, get_executor
from ..core.pipelines.runs import cancel_pipeline_run, rerun_pipeline_run, run_pipeline
from ..core.pipelines.scheduler import (
    create_schedule,
    delete_schedule,
    get_schedule,
    list_schedules,
    pause_schedule,
    resume_schedule,
    update_schedule,
)
from ..core.workspace import Workspace
from . import pipelines_views as views
from .base import MLOpsHandler, Operation
from .pipelines_models import (
    Deleted,
    FireTimes,
    FireTimesQuery,
    PipelineDetail,
    PipelineList,
    PipelineListQuery,
    PipelineQuery,
    RunCreate,
    RunFile,
    RunFileQuery,
    RunList,
    RunListQuery,
    RunModel,
    ScheduleCreate,
    ScheduleList,
    ScheduleListQuery,
    ScheduleModel,
    ScheduleUpdate,
    ValidateRequest,
    ValidateResponse,
)
from .pipelines_service import PIPELINES_SETTING
from .routes import Route

_RUN = r"(?P<run_id>[0-9A-Za-z][0-9A-Za-z-]{0,39})"
_STEP = r"(?P<step>[A-Za-z_][A-Za-z0-9_-]{0,63})"
_SCHEDULE = r"(?P<schedule_id>[0-9]{1,12})"
#: schedule fields only the spec file may change for a schedule declared in it
_SPEC_FIELDS = ("cron", "timezone", "catch_up", "max_backfill", "triggers")


class _PipelinesHandler(MLOpsHandler):
    """Finds the server's pipelines service (executor and scheduler)."""

    @property
    def service(self) -> Any:
        return self.settings.get(PIPELINES_SETTING)

    @property
    def executor(self) -> Executor:
        service = self.service
        return service.executor if service is not None else get_executor()

    def wake_scheduler(self) -> None:
        if self.service is not None:
            self.service.wake()


# -- work done off the event loop ----------------------------------------------------------------
def _start(ws: Workspace, body: RunCreate, executor: Executor) -> RunModel:
    run = run_pipeline(body.pipeline, body.parameters, wait=False, workspace=ws,
                       executor=executor, trigger="rest")
    return views.get_run(ws, run.id)


def _rerun(ws: Workspace, run_id: str, executor: Executor) -> RunModel:
    run = rerun_pipeline_run(run_id, ws, executor=executor)
    return views.get_run(ws, run.id)


def _cancel(ws: Workspace, run_id: str) -> RunModel:
    cancel_pipeline_run(run_id, ws, reason="cancelled from the Pipelines panel or REST")
    return views.get_run(ws, run_id)


def _create_schedule(ws: Workspace, body: ScheduleCreate) -> ScheduleModel:
    info = create_schedule(body.pipeline, body.cron, timezone=body.timezone,
                           catch_up=body.catch_up, max_backfill=body.max_backfill,
                           triggers=[t.model_dump() for t in body.triggers],
                           parameters=body.parameters, paused=body.paused, workspace=ws)
    return views.schedule_model(info)


def _update_schedule(ws: Workspace, schedule_id: int, body: ScheduleUpdate) -> ScheduleModel:
    changes = body.model_dump(exclude_unset=True)
    if "triggers" in changes and changes["triggers"] is not None:
        changes["triggers"] = [dict(t) for t in changes["triggers"]]
    for key in ("timezone", "catch_up", "max_backfill", "triggers", "paused", "parameters"):
        if key in changes and changes[key] is None:
            del changes[key]  # null: keep as is (only cron may be cleared)
    current = get_schedule(schedule_id, ws)
    locked = [k for k in _SPEC_FIELDS if k in changes]
    if current.source == "spec" and locked:
        raise Conflict(f"Schedule {schedule_id} comes from {current.pipeline}'s `schedule:`/"
                       f"`triggers:`; change {', '.join(locked)} in that file (pause, resume "
                       f"and parameters may be changed here).",
                       details={"schedule_id": schedule_id, "fields": locked})
    return views.schedule_model(update_schedule(schedule_id, ws, **changes))


# -- pipelines -------------------------------------------------------------------------------------
class PipelinesHandler(_PipelinesHandler):
    operations = {"get": Operation("Pipelines of the workspace: *.pipeline.yaml files (invalid "
                                   "ones with their error) and notebooks (one-step pipelines)",
                                   PipelineList, query=PipelineListQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(PipelineListQuery)
        self.reply(await self.blocking(views.list_pipelines, self.workspace, query.notebooks,
                                       query.limit))


class PipelineDetailHandler(_PipelinesHandler):
    operations = {"get": Operation("One pipeline: parameters (types, defaults), steps and their "
                                   "DAG; 400 with file, line and reason for a bad spec",
                                   PipelineDetail, query=PipelineQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.parse_query(PipelineQuery)
        self.reply(await self.blocking(views.get_pipeline, self.workspace, query.path))


class ValidateHandler(_PipelinesHandler):
    operations = {"post": Operation("Check a spec (a file, or YAML text): valid, or the errors "
                                    "with file, line and reason", ValidateResponse,
                                    body=ValidateRequest)}

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(ValidateRequest)
        self.reply(await self.blocking(views.validate, self.workspace, body.path, body.text))


# -- runs ------------------------------------------------------------------------------------------
class RunsHandler(_PipelinesHandler):
    operations = {
        "get": Operation("Pipeline runs, newest first, with their steps", RunList,
                         query=RunListQuery),
        "post": Operation("Start a run of a pipeline or notebook with parameters; 409 while "
                          "another run is active under concurrency: forbid", RunModel,
                          body=RunCreate, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        q = self.parse_query(RunListQuery)
        self.reply(await self.blocking(views.list_runs, self.workspace, q.pipeline, q.status,
                                       q.before, q.limit))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(RunCreate)
        self.reply(await self.blocking(_start, self.workspace, body, self.executor), status=201)


class RunHandler(_PipelinesHandler):
    operations = {"get": Operation("A run with its steps: status, timings, per-cell progress, "
                                   "outputs, and where and why a step failed", RunModel)}

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.blocking(views.get_run, self.workspace, run_id))


class RunCancelHandler(_PipelinesHandler):
    operations = {"post": Operation("Cancel a run: running kernels are killed, steps not "
                                    "started never start", RunModel)}

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        self.reply(await self.blocking(_cancel, self.workspace, run_id))


class RunRerunHandler(_PipelinesHandler):
    operations = {"post": Operation("Run again with the same parameters (and the spec as it "
                                    "was then)", RunModel, status=201)}

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        self.reply(await self.blocking(_rerun, self.workspace, run_id, self.executor),
                   status=201)


class RunFilesHandler(_PipelinesHandler):
    operations = {"get": Operation("A file of the run's folder (.mlops/runs/<run-id>/) as a "
                                   "read-only Jupyter Contents model; paths outside it are "
                                   "refused", RunFile, query=RunFileQuery)}

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        q = self.parse_query(RunFileQuery)
        self.reply(await self.blocking(views.run_file, self.workspace, run_id, q.path,
                                       q.content))


class StepNotebookHandler(_PipelinesHandler):
    operations = {"get": Operation("The executed notebook of a step (read-only Contents model "
                                   "with the notebook JSON)", RunFile)}

    @tornado.web.authenticated
    async def get(self, run_id: str, step: str) -> None:
        self.reply(await self.blocking(views.step_notebook, self.workspace, run_id, step))


# -- schedules -------------------------------------------------------------------------------------
class SchedulesHandler(_PipelinesHandler):
    operations = {
        "get": Operation("Schedules with their next five fire times", ScheduleList,
                         query=ScheduleListQuery),
        "post": Operation("Schedule a pipeline or notebook: a cron (with timezone and catch-up "
                          "policy) and/or triggers", ScheduleModel, body=ScheduleCreate,
                          status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        q = self.parse_query(ScheduleListQuery)
        infos = await self.blocking(list_schedules, self.workspace, pipeline=q.pipeline)
        self.reply(ScheduleList(schedules=[views.schedule_model(i) for i in infos]))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(ScheduleCreate)
        model = await self.blocking(_create_schedule, self.workspace, body)
        self.wake_scheduler()
        self.reply(model, status=201)


class ScheduleHandler(_PipelinesHandler):
    operations = {
        "get": Operation("One schedule with its next five fire times", ScheduleModel),
        "patch": Operation("Change a schedule (a new cron or a resume starts from now: no "
                           "catch-up of the gap)", ScheduleModel, body=ScheduleUpdate),
        "delete": Operation("Delete a schedule (its past runs stay)", Deleted),
    }

    @tornado.web.authenticated
    async def get(self, schedule_id: str) -> None:
        info = await self.blocking(get_schedule, int(schedule_id), self.workspace)
        self.reply(views.schedule_model(info))

    @tornado.web.authenticated
    async def patch(self, schedule_id: str) -> None:
        body = self.parse_body(ScheduleUpdate)
        model = await self.blocking(_update_schedule, self.workspace, int(schedule_id), body)
        self.wake_scheduler()
        self.reply(model)

    @tornado.web.authenticated
    async def delete(self, schedule_id: str) -> None:
        await self.blocking(delete_schedule, int(schedule_id), self.workspace)
        self.reply(Deleted(deleted=int(schedule_id)))


class SchedulePauseHandler(_PipelinesHandler):
    operations = {"post": Operation("Pause a schedule: no slot fires, no trigger starts a run",
                                    ScheduleModel)}

    @tornado.web.authenticated
    async def post(self, schedule_id: str) -> None:
        info = await self.blocking(pause_schedule, int(schedule_id), self.workspace)
        self.reply(views.schedule_model(info))


class ScheduleResumeHandler(_PipelinesHandler):
    operations = {"post": Operation("Resume a schedule from now on (slots that fell while "
                                    "paused are not caught up)", ScheduleModel)}

    @tornado.web.authenticated
    async def post(self, schedule_id: str) -> None:
        info = await self.blocking(resume_schedule, int(schedule_id), self.workspace)
        self.wake_scheduler()
        self.reply(views.schedule_model(info))


class FireTimesHandler(_PipelinesHandler):
    operations = {"get": Operation("The next fire times of a cron expression in a timezone "
                                   "(400 saying why an expression is invalid)", FireTimes,
                                   query=FireTimesQuery)}

    @tornado.web.authenticated
    async def get(self) -> None:
        q = self.parse_query(FireTimesQuery)
        self.reply(await self.blocking(views.fire_times, q.cron, q.timezone, q.n))


PIPELINES_ROUTES: tuple[Route, ...] = (
    Route("pipelines", PipelinesHandler, "pipelines"),
    Route("pipelines/detail", PipelineDetailHandler, "pipelines"),
    Route("pipelines/validate", ValidateHandler, "pipelines"),
    Route("pipelines/runs", RunsHandler, "pipelines"),
    Route(f"pipelines/runs/{_RUN}", RunHandler, "pipelines", example="pipelines/runs/r1",
          openapi="pipelines/runs/{run_id}"),
    Route(f"pipelines/runs/{_RUN}/cancel", RunCancelHandler, "pipelines",
          example="pipelines/runs/r1/cancel", openapi="pipelines/runs/{run_id}/cancel"),
    Route(f"pipelines/runs/{_RUN}/rerun", RunRerunHandler, "pipelines",
          example="pipelines/runs/r1/rerun", openapi="pipelines/runs/{run_id}/rerun"),
    Route(f"pipelines/runs/{_RUN}/files", RunFilesHandler, "pipelines",
          example="pipelines/runs/r1/files", openapi="pipelines/runs/{run_id}/files"),
    Route(f"pipelines/runs/{_RUN}/steps/{_STEP}/notebook", StepNotebookHandler, "pipelines",
          example="pipelines/runs/r1/steps/s/notebook",
          openapi="pipelines/runs/{run_id}/steps/{step}/notebook"),
    Route("pipelines/schedules", SchedulesHandler, "pipelines"),
    Route("pipelines/schedules/fire-times", FireTimesHandler, "pipelines"),
    Route(f"pipelines/schedules/{_SCHEDULE}", ScheduleHandler, "pipelines",
          example="pipelines/schedules/1", openapi="pipelines/schedules/{schedule_id}"),
    Route(f"pipelines/schedules/{_SCHEDULE}/pause", SchedulePauseHandler, "pipelines",
          example="pipelines/schedules/1/pause", openapi="pipelines/schedules/{schedule_id}/pause"),
    Route(f"pipelines/schedules/{_SCHEDULE}/resume", ScheduleResumeHandler, "pipelines",
          example="pipelines/schedules/1/resume",
          openapi="pipelines/schedules/{schedule_id}/resume"),
)
