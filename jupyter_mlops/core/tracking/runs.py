"""Runs: `start_run()` and the `Run` a notebook logs to.

Built on `MlflowClient` bound to the workspace, not on MLflow's fluent global
state: a kernel may talk to one workspace while `mlflow.set_tracking_uri` says
another. Other capabilities find the run a cell is inside with `active_run()`
(a per-process stack, so nested pipeline steps see their own run).

Metric values are buffered and written with `log_batch`: one database round
trip per value (≈ 4 ms on SQLite) would dominate a training loop. A buffer is
flushed when it holds `MAX_BUFFERED` values, when its oldest value is older
than `FLUSH_INTERVAL_S` (checked on each `log` call, and by one lazily started
daemon thread for runs that stop logging, e.g. a long epoch), when the run
ends, and at interpreter exit. When the store is down the values stay in the
buffer and flushes are retried with back-off; a run that ends with values
still unwritten raises `BackendUnavailable` saying how many, and at exit they
are written to `.mlops/unflushed/<run-id>.jsonl` rather than lost.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace, mask_url
from ._mlflow import client_of, ensure_experiment, mlflow_errors
from .context import RunContext, collect_context
from .values import as_metric_value, as_step, check_metric_key, check_file_name, flatten

MAX_BUFFERED = 1000  # MLflow accepts at most 1000 metrics per log_batch call
FLUSH_INTERVAL_S = 2.0
MAX_BACKOFF_S = 60.0
ENV_PARENT_RUN_ID = "JUPYTER_MLOPS_PARENT_RUN_ID"
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"

_stack: list[Run] = []
_live: set[Run] = set()  # runs that may still hold buffered values or an unsent end
_lock = threading.RLock()
_wake = threading.Event()
_flusher: threading.Thread | None = None
_last: Run | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


class Run:
    """A run being logged to; also a context manager that ends it (FAILED if the block raises).

    Create it with `start_run()`. Without `with`, call `end()` yourself; runs
    left open are ended FINISHED at interpreter exit, as MLflow does.
    """

    def __init__(self, workspace: Workspace, client: Any, info: Any, parent_id: str | None,
                 context: RunContext | None = None) -> None:
        self.workspace = workspace
        self.id: str = info.run_id
        self.experiment_id: str = str(info.experiment_id)
        self.name: str = info.run_name
        self.artifact_uri: str = info.artifact_uri
        self.parent_id = parent_id
        self.context = context
        self.status = "RUNNING"
        self.max_buffered = MAX_BUFFERED
        self.flush_interval = FLUSH_INTERVAL_S
        self._client = client
        self._buffer: list[tuple[str, float, int, int]] = []
        self._sending = 0  # values taken from the buffer by a flush in progress
        self._next_step: dict[str, int] = {}
        self._known_keys: set[str] = set()
        self._oldest: float | None = None
        self._retry_at = 0.0
        self._backoff = FLUSH_INTERVAL_S
        self._warned = False
        self._end: tuple[str, int] | None = None  # status and time once ended, until sent
        self._terminated = False
        self._buf_lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} experiment={self.experiment_id} {self.status}>"

    # -- metrics ----------------------------------------------------------------------------
    def log(self, step: int | None = None, **metrics: Any) -> None:
        """Buffer metric values; without `step`, each key counts its own steps 0, 1, 2…

        All values are validated before any is buffered, so a bad value raises
        here, in the cell that logged it, and never poisons a later batch.
        """
        if self._end is not None:
            raise Conflict(f"Run {self.id} has ended; start a new run to log more.")
        if not metrics:
            return
        checked = []
        for key, value in metrics.items():
            if key not in self._known_keys:
                check_metric_key(key)
                self._known_keys.add(key)
            checked.append((key, as_metric_value(key, value)))
        explicit = as_step(step) if step is not None else None
        timestamp = _now_ms()
        now = time.monotonic()
        with self._buf_lock:
            for key, value in checked:
                this_step = explicit if explicit is not None else self._next_step.get(key, 0)
                self._next_step[key] = this_step + 1
                self._buffer.append((key, value, timestamp, this_step))
            if self._oldest is None:
                self._oldest = now
            due = (len(self._buffer) >= self.max_buffered
                   or now - self._oldest >= self.flush_interval)
        if due and now >= self._retry_at:
            self._flush_quietly()

    @property
    def unflushed(self) -> int:
        """How many metric values are buffered (or being sent) and not yet in the store."""
        return len(self._buffer) + self._sending

    def _due(self, now: float) -> bool:
        if now < self._retry_at:
            return False
        if self._end is not None and not self._terminated:
            return True
        return self._oldest is not None and now - self._oldest >= self.flush_interval

    def _flush_quietly(self) -> None:
        """Flush from `log` or the timer: a store outage must not break the training loop."""
        try:
            self.flush()
        except MLOpsError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"{exc.message} Values stay buffered and will be retried.",
                              RuntimeWarning, stacklevel=3)

    def flush(self) -> int:
        """Write buffered values now (and the run's end, if it ended); returns how many.

        On failure the values go back to the front of the buffer, in order.
        """
        from mlflow.entities import Metric

        with self._flush_lock:
            with self._buf_lock:
                pending, self._buffer = self._buffer, []
                self._sending = len(pending)
                self._oldest = None
            sent = 0
            try:
                with mlflow_errors(self.workspace.tracking_uri):
                    while sent < len(pending):
                        chunk = pending[sent:sent + MAX_BUFFERED]
                        self._client.log_batch(
                            self.id, metrics=[Metric(k, v, ts, s) for k, v, ts, s in chunk])
                        sent += len(chunk)
                        self._sending -= len(chunk)
                    if self._end is not None and not self._terminated:
                        self._client.set_terminated(self.id, self._end[0], self._end[1])
                        self._terminated = True
            except MLOpsError as exc:
                with self._buf_lock:
                    self._buffer[:0] = pending[sent:]
                    self._sending = 0
                    self._oldest = time.monotonic() if self._buffer else None
                self._retry_at = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
                if isinstance(exc, BackendUnavailable):
                    raise BackendUnavailable(
                        f"Run {self.id}: {self.unflushed} metric value(s) not yet written to "
                        f"{mask_url(self.workspace.tracking_uri)}: {exc.message}",
                        details={"run_id": self.id, "unflushed": self.unflushed},
                    ) from exc
                raise
            finally:
                self._sending = 0
            self._backoff = self.flush_interval
            self._retry_at = 0.0
            if self._terminated:
                with _lock:
                    _live.discard(self)
            return sent

    # -- params, tags, artifacts, inputs ----------------------------------------------------
    def _send(self, **batch: Any) -> None:
        with mlflow_errors(self.workspace.tracking_uri):
            self._client.log_batch(self.id, **batch)

    def log_params(self, **params: Any) -> None:
        """Write params at once (MLflow refuses a changed value: better to learn it now).

        Nested dicts are flattened to dotted keys (`model.depth`).
        """
        from mlflow.entities import Param

        flat = flatten(params)
        if flat:
            self._send(params=[Param(k, v) for k, v in flat.items()])

    def set_tags(self, **tags: Any) -> None:
        from mlflow.entities import RunTag

        if tags:
            self._send(tags=[RunTag(k, "" if v is None else str(v)) for k, v in tags.items()])

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a file or folder into the run's artifacts (under the workspace artifact root)."""
        local = Path(path).expanduser()
        if not local.exists():
            raise NotFound(f"Cannot log artifact {str(path)!r}: no such file or folder.")
        with mlflow_errors(self.workspace.tracking_uri):
            if local.is_dir():
                self._client.log_artifacts(self.id, str(local), artifact_path)
            else:
                self._client.log_artifact(self.id, str(local), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        with mlflow_errors(self.workspace.tracking_uri):
            self._client.log_text(self.id, text, artifact_file)

    def log_figure(self, fig: Any, name: str, *, include_plotlyjs: bool | str = "cdn") -> list[str]:
        """Store a plotly figure as `figures/<name>.html` (to view) and `.json` (to re-plot).

        The JSON is what the Experiments panel renders with its own plotly.js;
        the HTML loads plotly.js from a CDN unless `include_plotlyjs=True`
        embeds it (≈ 3.5 MB per figure). A matplotlib figure is saved as PNG.
        """
        check_file_name(name, "figure name")
        with tempfile.TemporaryDirectory(prefix="mlops-fig-") as tmp:
            files: list[Path] = []
            if hasattr(fig, "to_plotly_json") or isinstance(fig, dict):
                import plotly.io as pio

                html = Path(tmp, f"{name}.html")
                html.write_text(pio.to_html(fig, include_plotlyjs=include_plotlyjs, full_html=True),
                                encoding="utf-8")
                Path(tmp, f"{name}.json").write_text(pio.to_json(fig), encoding="utf-8")
                files = [html, Path(tmp, f"{name}.json")]
            elif hasattr(fig, "savefig"):
                files = [Path(tmp, f"{name}.png")]
                fig.savefig(files[0])
            else:
                raise InvalidInput(f"log_figure expects a plotly or matplotlib figure, "
                                   f"got {type(fig).__name__}.")
            for file in files:
                self.log_artifact(file, "figures")
        return [f"figures/{file.name}" for file in files]

    def log_input(self, name: str, digest: str, source: str, *, source_type: str = "jupyter-mlops",
                  schema: str | None = None, profile: str | None = None,
                  context: str = "training") -> None:
        """Record a dataset (snapshot) this run read, through MLflow's dataset inputs."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        dataset = Dataset(name=name, digest=digest, source_type=source_type, source=source,
                          schema=schema, profile=profile)
        tags = [InputTag("mlflow.data.context", context)] if context else []
        with mlflow_errors(self.workspace.tracking_uri):
            self._client.log_inputs(self.id, [DatasetInput(dataset, tags)])

    # -- lifecycle --------------------------------------------------------------------------
    def end(self, status: str = "FINISHED") -> None:
        """Flush and mark the run ended; BackendUnavailable (values kept) if the store is down."""
        global _last
        with _lock:
            if self in _stack:
                _stack.remove(self)
            _last = self
        if self._end is not None:
            return
        self._end = (status, _now_ms())
        self.status = status
        self.flush()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self.end("FINISHED")
            return False
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        if time.monotonic() >= self._retry_at:  # not while backing off from an outage
            try:
                self.set_tags(**{"mlops.error": f"{type(exc).__name__}: {exc}"[:1000]})
            except MLOpsError:
                pass
        try:
            self.end(status)
        except MLOpsError as end_error:  # the block's own error matters more: keep it
            warnings.warn(end_error.message, RuntimeWarning, stacklevel=2)
            if hasattr(exc, "add_note"):
                exc.add_note(f"jupyter-mlops: {end_error.message}")
        return False


# -- module functions -----------------------------------------------------------------------
def active_run() -> Run | None:
    """The innermost run started in this process and not yet ended."""
    with _lock:
        return _stack[-1] if _stack else None


def last_run() -> Run | None:
    """The most recently ended run (what `%%track` just logged to)."""
    return _last


def _current_workspace() -> Workspace:
    from ... import workspace

    return workspace()


def start_run(experiment: str | None = None, name: str | None = None,
              params: dict[str, Any] | None = None, tags: dict[str, Any] | None = None,
              nested: bool = False, workspace: Workspace | None = None, *,
              parent_run_id: str | None = None) -> Run:
    """Start a run in the workspace's MLflow store, with its context tags.

    `experiment` defaults to the notebook's name (else "Default"), or to the
    parent's experiment for a child run. A child run is made with `nested=True`
    inside an active run, with an explicit `parent_run_id`, or when a pipeline
    step's kernel has `JUPYTER_MLOPS_PARENT_RUN_ID` set.
    """
    ws = workspace or _current_workspace()
    active = active_run()
    if active is not None and not nested and parent_run_id is None:
        raise Conflict(f"Run {active.id} is already active; end it first, or pass nested=True "
                       f"to start a child run.", details={"run_id": active.id})
    parent = parent_run_id or (active.id if nested and active is not None else None)
    if parent is None and active is None:
        parent = os.environ.get(ENV_PARENT_RUN_ID) or None
    context = collect_context(ws)
    client = client_of(ws)
    uri = ws.tracking_uri
    if experiment is None and parent is not None:
        if active is not None and parent == active.id:
            experiment_id = active.experiment_id
        else:
            with mlflow_errors(uri, not_found=f"Parent run {parent!r} not found."):
                experiment_id = str(client.get_run(parent).info.experiment_id)
    else:
        experiment_id = ensure_experiment(client, ws, experiment or context.default_experiment)
    all_tags = context.tags()
    if parent is not None:
        all_tags["mlflow.parentRunId"] = parent
    all_tags.update({k: "" if v is None else str(v) for k, v in (tags or {}).items()})
    with mlflow_errors(uri):
        info = client.create_run(experiment_id, tags=all_tags, run_name=name).info
    run = Run(ws, client, info, parent, context)
    try:
        if params:
            run.log_params(**params)
        run.log_text(context.environment.requirements, REQUIREMENTS_ARTIFACT)
    except BaseException:
        try:
            run.end("FAILED")
        except MLOpsError:
            pass
        raise
    with _lock:
        _stack.append(run)
        _live.add(run)
    _ensure_flusher()
    return run


# -- background flushing and exit -----------------------------------------------------------
def _flusher_loop() -> None:
    while True:
        with _lock:
            runs = list(_live)
        timeout = min((r.flush_interval for r in runs), default=None)
        _wake.wait(timeout)
        _wake.clear()
        now = time.monotonic()
        for run in runs:
            if run._due(now):
                try:
                    run.flush()
                except MLOpsError:
                    pass  # kept in the buffer; the run's end reports it


def _ensure_flusher() -> None:
    global _flusher
    with _lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flusher_loop, name="mlops-flush", daemon=True)
            _flusher.start()
    _wake.set()


def _dump_unflushed(run: Run) -> Path | None:
    """Last resort at exit: the values on disk, where a person can replay them."""
    try:
        folder = run.workspace.mlops_dir / "unflushed"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run.id}.jsonl"
        with path.open("a", encoding="utf-8") as out:
            for key, value, ts, step in run._buffer:
                out.write(json.dumps({"key": key, "value": value, "timestamp": ts,
                                      "step": step}) + "\n")
        return path
    except OSError:
        return None


def _at_exit() -> None:
    """End open runs and flush; a store that just failed is not retried (MLflow's HTTP
    retries could hold the kernel's shutdown for minutes): its values go to disk."""
    with _lock:
        runs = list(reversed(_stack)) + [r for r in _live if r not in _stack]
    for run in runs:
        try:
            if run._retry_at > time.monotonic():
                raise BackendUnavailable(f"Run {run.id}: {run.unflushed} metric value(s) not "
                                         f"written: the tracking store was unavailable.")
            if run._end is None:
                run.end("FINISHED")
            else:
                run.flush()
        except MLOpsError as exc:
            where = _dump_unflushed(run) if run.unflushed else None
            saved = f" Saved to {where}." if where else ""
            print(f"jupyter-mlops: {exc.message}{saved}", file=sys.stderr)


atexit.register(_at_exit)
