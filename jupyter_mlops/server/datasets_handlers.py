"""REST routes of the datasets capability: thin adapters over `core.datasets`.

Everything here parses, calls the core off the event loop and shapes the
answer; names, versions, tags and expectations are checked by the core, so a
cell and a click get the same messages. Two things are decided here because
they only exist for HTTP callers:

* a snapshot over REST is of a path inside the workspace (confined with
  `Workspace.resolve_path`, never `.mlops/` itself), and tabular files are
  profiled by default so the panel has something to show;
* the runs that used a version are looked up in MLflow by the dataset input
  the lineage hook logs (name + digest = the version hash), one indexed search
  per version, only for the newest versions and only when an MLflow store
  exists; a store that does not answer leaves the timeline intact with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from ..core import datasets as ds
from ..core.datasets.access import TABULAR_SUFFIXES
from ..core.errors import BackendUnavailable, InvalidInput
from ..core.mlflow_store import sqlite_path
from ..core.workspace import Workspace
from .base import MLOpsHandler, Operation
from .datasets_models import (
    DatasetListResponse,
    DatasetSummaryModel,
    DatasetDeleteResponse,
    DatasetDiffQuery,
    DatasetDiffResponse,
    DatasetExpectationsQuery,
    DatasetExpectationsResponse,
    DatasetExpectationsUpdate,
    DatasetGcRequest,
    DatasetGcResponse,
    DatasetProfileResponse,
    DatasetRunRef,
    DatasetSnapshotRequest,
    DatasetSnapshotResponse,
    DatasetValidateRequest,
    DatasetValidationResponse,
    DatasetVersionDetail,
    DatasetVersionListResponse,
    DatasetVersionModel,
    DatasetVersionsQuery,
)
from .routes import Route

#: runs are looked up for this many of the newest versions (one MLflow search each)
RUNS_FOR_NEWEST = 20
#: runs listed per version
RUNS_PER_VERSION = 50
#: tabular files up to this size are profiled when a REST snapshot does not say
AUTO_PROFILE_MAX_BYTES = 200 * 1024 * 1024


# -- shaping answers ---------------------------------------------------------------------------
def _version_model(version: ds.DatasetVersion, runs: list[DatasetRunRef] | None = None
                   ) -> DatasetVersionModel:
    return DatasetVersionModel(**version.to_dict(profile=False), runs=runs)


def _detail_fields(version: ds.DatasetVersion) -> dict[str, Any]:
    """The version with its UI profile; a file version's schema is read off its profile."""
    data = version.to_dict(profile=True)
    if not data["schema"] and data["profile"]:
        data["schema"] = [{"name": c["name"], "dtype": c["dtype"]}
                          for c in data["profile"]["columns"]]
    return data


# -- lineage: which runs used a version ------------------------------------------------------
def _tracking_store_exists(ws: Workspace) -> bool:
    """No MLflow store yet means no run can have used anything (and we must not create one)."""
    path = sqlite_path(ws.tracking_uri)
    return path is None or path.exists()


def runs_by_version(ws: Workspace, name: str, versions: list[str]
                    ) -> tuple[dict[str, list[DatasetRunRef]], str | None]:
    """version hash → runs that logged it as an input, and a note when the answer is partial."""
    found: dict[str, list[DatasetRunRef]] = {}
    if not versions or not _tracking_store_exists(ws):
        return {v: [] for v in versions}, None
    from ..core.tracking import search_runs

    try:
        # one search tells whether any run used the dataset at all: the common "no" is cheap
        if not search_runs(filter=f"dataset.name = '{name}'", page_size=1, workspace=ws).runs:
            return {v: [] for v in versions}, None
        for version in versions[:RUNS_FOR_NEWEST]:
            page = search_runs(filter=f"dataset.name = '{name}' AND dataset.digest = '{version}'",
                               page_size=RUNS_PER_VERSION, workspace=ws)
            found[version] = [DatasetRunRef(id=r.id, name=r.name, experiment_id=r.experiment_id,
                                     status=r.status, start_time=r.start_time)
                              for r in page.runs]
    except BackendUnavailable as exc:
        # the timeline is worth showing without its runs: degrade, do not fail the request
        return found, f"Runs not shown: {exc.message}"
    note = None
    if len(versions) > RUNS_FOR_NEWEST:
        note = f"Runs are looked up for the newest {RUNS_FOR_NEWEST} versions only."
    return found, note


# -- blocking work (runs in a thread) --------------------------------------------------------
def _list_versions(ws: Workspace, name: str, with_runs: bool) -> DatasetVersionListResponse:
    versions = ds.list_versions(name, ws)
    runs: dict[str, list[DatasetRunRef]] = {}
    note = None
    if with_runs:
        runs, note = runs_by_version(ws, name, [v.version for v in versions])
    return DatasetVersionListResponse(
        name=name, runs_note=note,
        versions=[_version_model(v, runs.get(v.version) if with_runs else None)
                  for v in versions])


def _version_detail(ws: Workspace, name: str, ref: str) -> DatasetVersionDetail:
    version = ds.get_version(name, ref, ws)
    runs, _note = runs_by_version(ws, name, [version.version])
    return DatasetVersionDetail(**_detail_fields(version), runs=runs.get(version.version))


def _profile(ws: Workspace, name: str, ref: str) -> DatasetProfileResponse:
    version = ds.get_version(name, ref, ws)
    profile = ds.profile_version(name, version.version, ws)
    from ..core.datasets.types import strip_sketch

    return DatasetProfileResponse(name=name, version=version.version, profile=strip_sketch(profile))


def _diff(ws: Workspace, name: str, a: str | None, b: str) -> DatasetDiffResponse:
    result = ds.diff(name, a, b, ws)
    return DatasetDiffResponse(**result.to_dict(), summary=result.summary())


def _expectations(ws: Workspace, name: str, suggest: bool) -> DatasetExpectationsResponse:
    stored = ds.get_expectations(name, ws)
    suggested = None
    if suggest and stored is None and ds.list_versions(name, ws):
        suggested = ds.suggest_expectations(name, "latest", ws)
    return DatasetExpectationsResponse(name=name, expectations=stored, suggested=suggested)


def _validate(ws: Workspace, name: str, ref: str, spec: dict[str, Any] | None
              ) -> DatasetValidationResponse:
    version = ds.get_version(name, ref, ws)
    report = ds.validate(version, spec if spec is not None else name, ws)
    report.dataset = name
    return DatasetValidationResponse(**report.to_dict(), version=version.version,
                              summary=report.summary())


def _wants_profile(path: Path, asked: bool | None) -> bool:
    if asked is not None:
        return asked
    return (path.is_file() and path.suffix.lower() in TABULAR_SUFFIXES
            and path.stat().st_size <= AUTO_PROFILE_MAX_BYTES)


def _snapshot(ws: Workspace, path: Path, body: DatasetSnapshotRequest) -> DatasetSnapshotResponse:
    version = ds.snapshot(path, body.name, tags=body.tags, description=body.description,
                          workspace=ws, profile=False, verify=body.verify)
    profile_error = None
    if version.kind == "file" and _wants_profile(path, body.profile):
        try:
            ds.profile_version(body.name, version.version, ws)
        except InvalidInput as exc:
            # the version is stored either way; say why it has no profile instead of failing
            profile_error = exc.message
    fresh = ds.get_version(body.name, version.version, ws)
    return DatasetSnapshotResponse(**_detail_fields(fresh), new=bool(version.new),
                            profile_error=profile_error)


def _gc(ws: Workspace, body: DatasetGcRequest) -> DatasetGcResponse:
    report = ds.gc(dry_run=body.dry_run, workspace=ws, grace_seconds=body.grace_seconds)
    return DatasetGcResponse(**report.to_dict(), summary=report.summary())


# -- handlers ----------------------------------------------------------------------------------
class DatasetsHandler(MLOpsHandler):
    operations = {
        "get": Operation("Datasets with their newest version and tags", DatasetListResponse),
        "post": Operation("Snapshot a file or folder of the workspace as a dataset version",
                          DatasetSnapshotResponse, body=DatasetSnapshotRequest, status=201),
    }

    @tornado.web.authenticated
    async def get(self) -> None:
        summaries = await self.blocking(ds.list_datasets, self.workspace)
        self.reply(DatasetListResponse(
            datasets=[DatasetSummaryModel(**s.to_dict()) for s in summaries]))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(DatasetSnapshotRequest)
        ds.validate_name(body.name)
        path = self.workspace.resolve_path(body.path)
        mlops_dir = self.workspace.mlops_dir.resolve()
        if path == mlops_dir or mlops_dir in path.parents:
            raise InvalidInput(f"path: {body.path!r} is inside the workbench's own state "
                               "(.mlops/); snapshot your data files instead.")
        if not path.exists():
            raise InvalidInput(f"path: there is no file or folder at {body.path!r} in the "
                               "workspace.")
        answer = await self.blocking(_snapshot, self.workspace, path, body)
        self.reply(answer, status=201)


class VersionsHandler(MLOpsHandler):
    operations = {"get": Operation("Versions of a dataset, newest first, with tags and the "
                                   "runs that used them", DatasetVersionListResponse,
                                   query=DatasetVersionsQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(DatasetVersionsQuery)
        self.reply(await self.blocking(_list_versions, self.workspace, name, query.runs))


class VersionHandler(MLOpsHandler):
    operations = {
        "get": Operation("One version with its schema, profile and runs", DatasetVersionDetail),
        "delete": Operation("Forget a version (gc reclaims its object)", DatasetDeleteResponse),
    }

    @tornado.web.authenticated
    async def get(self, name: str, ref: str) -> None:
        self.reply(await self.blocking(_version_detail, self.workspace, name, ref))

    @tornado.web.authenticated
    async def delete(self, name: str, ref: str) -> None:
        removed = await self.blocking(ds.delete_version, name, ref, self.workspace)
        self.reply(DatasetDeleteResponse(name=name, deleted=removed))


class ProfileHandler(MLOpsHandler):
    operations = {"get": Operation("A version's profile (computed and stored on first request "
                                   "for a tabular file)", DatasetProfileResponse)}

    @tornado.web.authenticated
    async def get(self, name: str, ref: str) -> None:
        self.reply(await self.blocking(_profile, self.workspace, name, ref))


class ValidateHandler(MLOpsHandler):
    operations = {"post": Operation("Validate a version against the dataset's expectations "
                                    "(or the ones in the body)", DatasetValidationResponse,
                                    body=DatasetValidateRequest)}

    @tornado.web.authenticated
    async def post(self, name: str, ref: str) -> None:
        # the body is optional: without one, the stored expectations apply
        spec = None
        if (self.request.body or b"").strip():
            spec = self.parse_body(DatasetValidateRequest).expectations
        self.reply(await self.blocking(_validate, self.workspace, name, ref, spec))


class DiffHandler(MLOpsHandler):
    operations = {"get": Operation("What changed between two versions (schema, rows, "
                                   "per-column profile deltas, files)", DatasetDiffResponse,
                                   query=DatasetDiffQuery)}

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(DatasetDiffQuery)
        self.reply(await self.blocking(_diff, self.workspace, name, query.a, query.b))


class ExpectationsHandler(MLOpsHandler):
    operations = {
        "get": Operation("The dataset's stored expectations", DatasetExpectationsResponse,
                         query=DatasetExpectationsQuery),
        "put": Operation("Store (or with null, clear) the dataset's expectations",
                         DatasetExpectationsResponse, body=DatasetExpectationsUpdate),
    }

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        query = self.parse_query(DatasetExpectationsQuery)
        self.reply(await self.blocking(_expectations, self.workspace, name, query.suggest))

    @tornado.web.authenticated
    async def put(self, name: str) -> None:
        body = self.parse_body(DatasetExpectationsUpdate)
        stored = await self.blocking(ds.set_expectations, name, body.expectations,
                                     self.workspace)
        self.reply(DatasetExpectationsResponse(name=name, expectations=stored))


class GcHandler(MLOpsHandler):
    operations = {"post": Operation("Remove objects no version references (dry run by "
                                    "default)", DatasetGcResponse, body=DatasetGcRequest)}

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.parse_body(DatasetGcRequest)
        self.reply(await self.blocking(_gc, self.workspace, body))


_NAME = r"(?P<name>[^/]+)"
_REF = r"(?P<ref>[^/]+)"

DATASETS_ROUTES: tuple[Route, ...] = (
    Route("datasets", DatasetsHandler, "datasets"),
    # before the name routes, and one segment long, so no dataset name can shadow it
    Route("datasets/gc", GcHandler, "datasets"),
    Route(f"datasets/{_NAME}/versions", VersionsHandler, "datasets",
          example="datasets/sales/versions", openapi="datasets/{name}/versions"),
    Route(f"datasets/{_NAME}/versions/{_REF}", VersionHandler, "datasets",
          example="datasets/sales/versions/latest", openapi="datasets/{name}/versions/{ref}"),
    Route(f"datasets/{_NAME}/versions/{_REF}/profile", ProfileHandler, "datasets",
          example="datasets/sales/versions/latest/profile",
          openapi="datasets/{name}/versions/{ref}/profile"),
    Route(f"datasets/{_NAME}/versions/{_REF}/validate", ValidateHandler, "datasets",
          example="datasets/sales/versions/latest/validate",
          openapi="datasets/{name}/versions/{ref}/validate"),
    Route(f"datasets/{_NAME}/diff", DiffHandler, "datasets", example="datasets/sales/diff",
          openapi="datasets/{name}/diff"),
    Route(f"datasets/{_NAME}/expectations", ExpectationsHandler, "datasets",
          example="datasets/sales/expectations", openapi="datasets/{name}/expectations"),
)
