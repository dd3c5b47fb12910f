"""The blocking work behind the pipelines routes: core calls turned into API models.

Kept apart from the handlers so that these functions, which run in threads
(`MLOpsHandler.blocking`), hold no tornado state.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.errors import InvalidInput, MLOpsError, NotFound, OutsideWorkspace
from ..core.pipelines.graph import build_graph
from ..core.pipelines.runs import RunInfo, get_run_info, list_pipeline_runs
from ..core.pipelines.scheduler import ScheduleInfo, discover_pipelines, next_fire_times
from ..core.pipelines.spec import PipelineSpec, check_notebook_paths, load_spec, parse_spec_text
from ..core.workspace import Workspace
from .pipelines_models import (
    FireTimes,
    GraphModel,
    LastRun,
    ParameterModel,
    PipelineDetail,
    PipelineList,
    PipelineSummary,
    RunFile,
    RunList,
    RunModel,
    ScheduleModel,
    SpecProblem,
    StepModel,
    ValidateResponse,
)

_SKIP_DIRS = {".mlops", ".git", "node_modules", "__pycache__", ".ipynb_checkpoints", ".venv",
              "venv", ".tox"}
MAX_TEXT_BYTES = 5_000_000


# -- pipelines ---------------------------------------------------------------------------------
def problem_of(exc: MLOpsError) -> SpecProblem:
    """The file, line and reason an InvalidInput from the spec loader carries."""
    details = exc.details if isinstance(exc.details, dict) else {}
    loc = None
    errors = details.get("errors")
    if isinstance(errors, list) and errors:
        loc = errors[0].get("loc")
    return SpecProblem(file=details.get("file"), line=details.get("line"),
                       reason=str(details.get("reason") or exc.message), loc=loc)


def _relative(ws: Workspace, problem: SpecProblem) -> SpecProblem:
    if problem.file:
        try:
            problem.file = Path(problem.file).resolve().relative_to(ws.root).as_posix()
        except ValueError:
            pass
    return problem


def _notebooks(ws: Workspace, limit: int) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(ws.root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".ipynb") and not name.startswith("."):
                found.append(Path(folder) / name)
                if len(found) >= limit:
                    return found
    return found


def _last_runs(ws: Workspace, keys: list[str]) -> dict[str, LastRun]:
    from sqlalchemy import func, select

    from ..core.db.pipeline_models import PipelineRunRow

    if not keys:
        return {}
    out: dict[str, LastRun] = {}
    with ws.session() as session:
        newest = (select(PipelineRunRow.pipeline, func.max(PipelineRunRow.created).label("c"))
                  .where(PipelineRunRow.pipeline.in_(keys)).group_by(PipelineRunRow.pipeline)
                  .subquery())
        rows = session.scalars(select(PipelineRunRow).join(
            newest, (PipelineRunRow.pipeline == newest.c.pipeline)
            & (PipelineRunRow.created == newest.c.c)))
        for row in rows:
            out[row.pipeline] = LastRun(id=row.id, status=row.status,
                                        created=_iso(row.created),  # type: ignore[arg-type]
                                        finished=_iso(row.finished))
    return out


def list_pipelines(ws: Workspace, notebooks: bool, limit: int) -> PipelineList:
    specs = discover_pipelines(ws, limit=limit + 1)
    items: list[PipelineSummary] = []
    for path in specs[:limit]:
        key = ws.relpath(path)
        try:
            spec = load_spec(path, ws)
            items.append(PipelineSummary(
                path=key, kind="spec", name=spec.name or key, description=spec.description,
                steps=len(spec.steps), parameters=list(spec.parameters),
                schedule=spec.schedule.cron if spec.schedule else None))
        except MLOpsError as exc:
            items.append(PipelineSummary(path=key, kind="spec", name=Path(key).name,
                                         error=_relative(ws, problem_of(exc))))
    truncated = len(specs) > limit
    if notebooks and len(items) < limit:
        found = _notebooks(ws, limit - len(items) + 1)
        truncated = truncated or len(found) > limit - len(items)
        for path in found[:limit - len(items)]:
            key = ws.relpath(path)
            items.append(PipelineSummary(path=key, kind="notebook", name=path.stem, steps=1))
    last = _last_runs(ws, [i.path for i in items])
    for item in items:
        item.last_run = last.get(item.path)
    return PipelineList(pipelines=items, truncated=truncated)


def detail_model(spec: PipelineSpec) -> PipelineDetail:
    graph = build_graph(spec)
    parameters = [ParameterModel(name=name, type=p.type,
                                 default=None if p.required else p.default,
                                 required=p.required and spec.origin != "notebook",
                                 description=p.description)
                  for name, p in spec.parameters.items()]
    steps = [StepModel(name=s.name, notebook=s.notebook, parameters=s.parameters,
                       depends_on=graph.upstream[s.name], retries=s.retries, timeout=s.timeout,
                       kernel=s.kernel) for s in spec.steps]
    return PipelineDetail(
        path=spec.key, kind="notebook" if spec.origin == "notebook" else "spec",
        name=spec.name or spec.key, description=spec.description, parameters=parameters,
        steps=steps, graph=GraphModel(**graph.to_dict()),  # type: ignore[arg-type]
        concurrency=spec.concurrency,
        schedule=spec.schedule.model_dump(mode="json") if spec.schedule else None,
        triggers=[{"kind": t.kind, "subject": t.subject} for t in spec.triggers])


def get_pipeline(ws: Workspace, path: str) -> PipelineDetail:
    return detail_model(load_spec(path, ws))


def validate(ws: Workspace, path: str | None, text: str | None) -> ValidateResponse:
    if path is None and text is None:
        raise InvalidInput("Give the spec's `path`, its `text`, or both.")
    try:
        if text is not None:
            source = ws.resolve_path(path) if path else None
            spec = parse_spec_text(text, source=source)
            if source is not None:
                spec._key = ws.relpath(source)
            check_notebook_paths(spec, ws)
        else:
            spec = load_spec(path, ws)  # type: ignore[arg-type]
    except OutsideWorkspace:
        raise
    except NotFound:
        raise
    except InvalidInput as exc:
        return ValidateResponse(valid=False, errors=[_relative(ws, problem_of(exc))])
    return ValidateResponse(valid=True, errors=[], pipeline=detail_model(spec))


# -- runs --------------------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def run_model(info: RunInfo, *, tracebacks: bool = True) -> RunModel:
    data = info.to_dict()
    if not tracebacks:
        for step in data["steps"]:
            if step.get("error"):
                step["error"]["traceback"] = None
    return RunModel(**data)


def get_run(ws: Workspace, run_id: str) -> RunModel:
    return run_model(get_run_info(run_id, ws))


def list_runs(ws: Workspace, pipeline: str | None, status: str | None, before: str | None,
              limit: int) -> RunList:
    infos = list_pipeline_runs(ws, pipeline=pipeline, status=status, before=before,
                               limit=limit + 1)
    more = len(infos) > limit
    infos = infos[:limit]
    return RunList(runs=[run_model(i, tracebacks=False) for i in infos],
                   next_before=infos[-1].id if more and infos else None)


def _run_folder(ws: Workspace, run_id: str) -> Path:
    get_run_info(run_id, ws)  # NotFound for an unknown run
    return (ws.runs_dir / run_id).resolve()


def _inside(folder: Path, relative: str, run_id: str) -> Path:
    """`relative` resolved in the run's folder; refuses anything that leaves it."""
    if "\x00" in relative:
        raise InvalidInput("The path contains a NUL character.")
    rel = relative.strip()
    if rel.startswith("/") or Path(rel).is_absolute():
        raise OutsideWorkspace(f"{relative!r} is outside the folder of run {run_id}: give a "
                               f"path relative to it.", details={"path": relative})
    if rel.startswith(f"{run_id}/") or rel == run_id:  # a drive path: <run-id>/<file>
        rel = rel[len(run_id):].lstrip("/")
    target = (folder / rel).resolve()
    if target != folder and folder not in target.parents:
        raise OutsideWorkspace(f"{relative!r} is outside the folder of run {run_id} "
                               f"(.mlops/runs/{run_id}/).", details={"path": relative})
    return target


def _stat_times(path: Path) -> tuple[str, str]:
    stat = path.stat()
    created = datetime.fromtimestamp(getattr(stat, "st_ctime", stat.st_mtime), timezone.utc)
    modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
    return created.isoformat(), modified.isoformat()


def _file_model(folder: Path, target: Path, run_id: str, content: bool) -> RunFile:
    created, modified = _stat_times(target)
    rel = target.relative_to(folder).as_posix() if target != folder else ""
    drive_path = f"{run_id}/{rel}" if rel else run_id
    if target.is_dir():
        entries = None
        if content:
            entries = [_file_model(folder, child, run_id, False).model_dump()
                       for child in sorted(target.iterdir()) if not child.name.startswith(".")]
        return RunFile(name=target.name, path=drive_path, type="directory",
                       format="json" if content else None, mimetype=None, content=entries,
                       created=created, last_modified=modified, size=None)
    size = target.stat().st_size
    if target.suffix == ".ipynb":
        body = None
        if content:
            try:
                body = json.loads(target.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"{drive_path} is not a readable notebook: {exc}") from None
        return RunFile(name=target.name, path=drive_path, type="notebook",
                       format="json" if content else None, mimetype=None, content=body,
                       created=created, last_modified=modified, size=size)
    mimetype = mimetypes.guess_type(target.name)[0] or "text/plain"
    body_text: str | None = None
    fmt = None
    if content:
        if size > MAX_TEXT_BYTES:
            raise InvalidInput(f"{drive_path} is {size} bytes; files over {MAX_TEXT_BYTES} "
                               f"bytes are not served here.")
        raw = target.read_bytes()
        try:
            body_text, fmt = raw.decode("utf-8"), "text"
        except UnicodeDecodeError:
            body_text, fmt = base64.b64encode(raw).decode("ascii"), "base64"
    return RunFile(name=target.name, path=drive_path, type="file", format=fmt,  # type: ignore[arg-type]
                   mimetype=mimetype, content=body_text, created=created,
                   last_modified=modified, size=size)


def run_file(ws: Workspace, run_id: str, path: str, content: bool) -> RunFile:
    folder = _run_folder(ws, run_id)
    target = _inside(folder, path, run_id)
    if not target.exists():
        if target == folder:
            raise NotFound(f"Run {run_id} has no files yet (no step has started).")
        raise NotFound(f"Run {run_id} has no file {path!r}.", details={"path": path})
    return _file_model(folder, target, run_id, content)


def step_notebook(ws: Workspace, run_id: str, step: str) -> RunFile:
    info = get_run_info(run_id, ws)
    found = next((s for s in info.steps if s.name == step), None)
    if found is None:
        raise NotFound(f"Run {run_id} has no step {step!r}; steps: "
                       f"{', '.join(s.name for s in info.steps) or 'none'}.")
    if not found.output_notebook:
        raise NotFound(f"Step {step!r} of run {run_id} has no executed notebook yet "
                       f"(status {found.status}).")
    folder = (ws.runs_dir / run_id).resolve()
    target = (ws.root / found.output_notebook).resolve()
    if target != folder and folder not in target.parents:
        raise OutsideWorkspace(f"The executed notebook of step {step!r} is outside the run's "
                               f"folder.")
    if not target.exists():
        raise NotFound(f"Step {step!r} of run {run_id} has no executed notebook yet "
                       f"(status {found.status}).")
    return _file_model(folder, target, run_id, True)


# -- schedules ---------------------------------------------------------------------------------------
def schedule_model(info: ScheduleInfo) -> ScheduleModel:
    return ScheduleModel(**info.to_dict(upcoming=5))


def fire_times(cron: str, tz: str, n: int) -> FireTimes:
    from ..core.pipelines.spec import zone_of

    try:
        zone = zone_of(tz)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    times = next_fire_times(cron, tz, n)
    return FireTimes(cron=cron, timezone=tz, times=[t.isoformat() for t in times],
                     local=[t.astimezone(zone).isoformat() for t in times])


def json_default(value: Any) -> Any:
    return str(value)
