"""Finding and comparing runs, with answers the REST layer can return as they are.

Every function returns dataclasses with `to_dict()` (JSON-safe: NaN and
infinities become null) so the server, the magics and the CLI show the same
thing. Pagination is MLflow's own (`max_results` + `page_token` in the store
query): an experiment with 10,000 runs must not be read into Python to show 50.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, NotFound
from ..workspace import Workspace
from ._mlflow import client_of, mlflow_errors, require_experiment
from .sorted_page import runs_in_order, sorted_run_ids

MAX_PAGE_SIZE = 1000
MAX_COMPARE = 100
MAX_ARTIFACTS = 500
DEFAULT_ORDER = ["attributes.start_time DESC"]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class _JSON:
    def to_dict(self) -> dict[str, Any]:
        return _json_safe(dataclasses.asdict(self))  # type: ignore[call-overload]


@dataclass
class ExperimentInfo(_JSON):
    id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int | None
    last_update_time: int | None


@dataclass
class RunSummary(_JSON):
    """One row of the runs table: what a person scans to pick runs."""

    id: str
    name: str
    experiment_id: str
    status: str
    start_time: int | None
    end_time: int | None
    duration_ms: int | None
    user: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]  # user tags only; system tags are the named fields
    notebook: str | None
    output_notebook: str | None
    git_commit: str | None
    git_dirty: bool | None
    parent_run_id: str | None


@dataclass
class ArtifactEntry(_JSON):
    path: str
    is_dir: bool
    size: int | None


@dataclass
class RunDetail(_JSON):
    run: RunSummary
    all_tags: dict[str, str]
    source_name: str | None
    artifact_uri: str
    artifacts: list[ArtifactEntry]
    artifacts_truncated: bool
    inputs: list[dict[str, Any]]


@dataclass
class RunPage(_JSON):
    runs: list[RunSummary]
    next_page_token: str | None
    experiment_ids: list[str]


@dataclass
class MetricPoint(_JSON):
    step: int
    value: float
    timestamp: int


@dataclass
class MetricHistory(_JSON):
    run_id: str
    key: str
    points: list[MetricPoint] = field(default_factory=list)


@dataclass
class Comparison(_JSON):
    """N runs side by side: what differs is what a person looks for first."""

    run_ids: list[str]
    runs: list[RunSummary]
    params_common: dict[str, str]
    params_differ: dict[str, dict[str, str | None]]
    metrics: dict[str, dict[str, float | None]]


def _summary(run: Any) -> RunSummary:
    info, data = run.info, run.data
    tags = dict(data.tags)
    dirty = tags.get("mlops.git.dirty")
    end, start = info.end_time, info.start_time
    return RunSummary(
        id=info.run_id, name=info.run_name or "", experiment_id=str(info.experiment_id),
        status=info.status, start_time=start, end_time=end,
        duration_ms=(end - start) if end and start else None,
        user=tags.get("mlflow.user") or info.user_id or None,
        params=dict(data.params), metrics=dict(data.metrics),
        tags={k: v for k, v in tags.items() if not k.startswith(("mlflow.", "mlops."))},
        notebook=tags.get("mlops.notebook") or tags.get("mlflow.source.name"),
        output_notebook=tags.get("mlops.output_notebook"),
        git_commit=tags.get("mlflow.source.git.commit"),
        git_dirty=None if dirty is None else dirty == "true",
        parent_run_id=tags.get("mlflow.parentRunId"),
    )


def _get(client: Any, ws: Workspace, run_id: str) -> Any:
    if not run_id or not isinstance(run_id, str):
        raise InvalidInput("A run id must be a non-empty string.")
    with mlflow_errors(ws.tracking_uri, not_found=f"Run {run_id!r} not found."):
        try:
            return client.get_run(run_id)
        except Exception as exc:  # some stores call a malformed id invalid, not missing
            if getattr(exc, "error_code", None) == "INVALID_PARAMETER_VALUE":
                raise NotFound(f"Run {run_id!r} not found.", details={"run_id": run_id}) from exc
            raise


def _ws(workspace: Any) -> Workspace:
    from ..workspace import use_workspace

    return use_workspace(workspace)


def list_experiments(workspace: Workspace | None = None) -> list[ExperimentInfo]:
    """Active experiments, most recently updated first."""
    ws = _ws(workspace)
    client = client_of(ws)
    found: list[ExperimentInfo] = []
    token = None
    with mlflow_errors(ws.tracking_uri):
        while True:
            page = client.search_experiments(max_results=1000, page_token=token,
                                             order_by=["last_update_time DESC"])
            found.extend(
                ExperimentInfo(id=str(e.experiment_id), name=e.name,
                               artifact_location=e.artifact_location,
                               lifecycle_stage=e.lifecycle_stage, tags=dict(e.tags),
                               creation_time=e.creation_time, last_update_time=e.last_update_time)
                for e in page)
            token = page.token
            if not token:
                return found


def search_runs(experiment: str | Sequence[str] | None = None, filter: str | None = None,
                order_by: str | Sequence[str] | None = None, page_size: int = 50,
                page_token: str | None = None, workspace: Workspace | None = None) -> RunPage:
    """One page of runs; `filter` and `order_by` use MLflow's search syntax
    (`metrics.acc > 0.9 and params.model = 'rf'`, `metrics.acc DESC`)."""
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size!r}.")
    ws = _ws(workspace)
    client = client_of(ws)
    if experiment is None:
        ids = [e.id for e in list_experiments(ws)]
    else:
        refs = [experiment] if isinstance(experiment, str) else list(experiment)
        ids = [str(require_experiment(client, ws, ref).experiment_id) for ref in refs]
    orders = [order_by] if isinstance(order_by, str) else list(order_by or DEFAULT_ORDER)
    if not ids:
        return RunPage(runs=[], next_page_token=None, experiment_ids=[])
    with mlflow_errors(ws.tracking_uri):
        fast = sorted_run_ids(client, ids, filter, orders, page_size, page_token or None)
        if fast is not None:  # ordered by a metric/param/tag on SQLite: see sorted_page.py
            run_ids, token = fast
            return RunPage(runs=[_summary(r) for r in runs_in_order(client, ids, run_ids)],
                           next_page_token=token, experiment_ids=ids)
        page = client.search_runs(ids, filter_string=filter or "", max_results=page_size,
                                  order_by=orders, page_token=page_token or None)
    return RunPage(runs=[_summary(r) for r in page], next_page_token=page.token or None,
                   experiment_ids=ids)


def _artifacts(client: Any, run_id: str) -> tuple[list[ArtifactEntry], bool]:
    entries: list[ArtifactEntry] = []
    folders: list[str | None] = [None]
    while folders:
        for item in client.list_artifacts(run_id, folders.pop(0)):
            if len(entries) >= MAX_ARTIFACTS:
                return entries, True
            entries.append(ArtifactEntry(path=item.path, is_dir=item.is_dir, size=item.file_size))
            if item.is_dir:
                folders.append(item.path)
    return entries, False


def get_run(run_id: str, workspace: Workspace | None = None) -> RunDetail:
    """Everything the run detail view shows, in one call."""
    ws = _ws(workspace)
    client = client_of(ws)
    run = _get(client, ws, run_id)
    with mlflow_errors(ws.tracking_uri):
        artifacts, truncated = _artifacts(client, run_id)
    inputs = []
    for ds_input in (run.inputs.dataset_inputs if run.inputs else []):
        ds = ds_input.dataset
        inputs.append({"name": ds.name, "digest": ds.digest, "source_type": ds.source_type,
                       "source": ds.source,
                       "context": next((t.value for t in ds_input.tags
                                        if t.key == "mlflow.data.context"), None)})
    tags = dict(run.data.tags)
    return RunDetail(run=_summary(run), all_tags=tags, source_name=tags.get("mlflow.source.name"),
                     artifact_uri=run.info.artifact_uri, artifacts=artifacts,
                     artifacts_truncated=truncated, inputs=inputs)


def metric_history(run_id: str, key: str, workspace: Workspace | None = None) -> MetricHistory:
    """Every logged value of one metric, by step (then time)."""
    ws = _ws(workspace)
    client = client_of(ws)
    run = _get(client, ws, run_id)
    if key not in run.data.metrics:
        raise NotFound(f"Run {run_id!r} has no metric {key!r}.",
                       details={"run_id": run_id, "metric": key})
    with mlflow_errors(ws.tracking_uri):
        values = client.get_metric_history(run_id, key)
    points = sorted((MetricPoint(step=m.step, value=m.value, timestamp=m.timestamp)
                     for m in values), key=lambda p: (p.step, p.timestamp))
    return MetricHistory(run_id=run_id, key=key, points=points)


def compare_runs(run_ids: Sequence[str], workspace: Workspace | None = None) -> Comparison:
    """Params in common, params that differ (missing counts as different), metrics by run."""
    ids = list(dict.fromkeys(run_ids))  # keep order, drop repeats
    if not ids or len(ids) > MAX_COMPARE:
        raise InvalidInput(f"Compare between 1 and {MAX_COMPARE} runs, got {len(ids)}.")
    ws = _ws(workspace)
    client = client_of(ws)
    runs = [_summary(_get(client, ws, run_id)) for run_id in ids]
    param_keys = sorted({k for r in runs for k in r.params})
    common: dict[str, str] = {}
    differ: dict[str, dict[str, str | None]] = {}
    for key in param_keys:
        values = {r.id: r.params.get(key) for r in runs}
        distinct = set(values.values())
        if len(distinct) == 1 and None not in distinct:
            common[key] = next(iter(distinct))  # type: ignore[assignment]
        else:
            differ[key] = values
    metric_keys = sorted({k for r in runs for k in r.metrics})
    metrics = {key: {r.id: r.metrics.get(key) for r in runs} for key in metric_keys}
    return Comparison(run_ids=ids, runs=runs, params_common=common, params_differ=differ,
                      metrics=metrics)
