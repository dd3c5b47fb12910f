"""Pipeline runs in MLflow: a parent run per pipeline run, a nested run per step.

Written through the workspace's `MlflowClient`, not `tracking.start_run()`:
that one keeps a per-process stack of active runs (what a notebook cell logs
to), and a server orchestrating several pipelines must not push onto it.

Tracking is best effort: a tracking store that does not answer must not stop
a pipeline. The first failure is remembered (`error`) and tracking is off for
the rest of the run; the pipeline run records the reason.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import MLOpsError
from ..workspace import Workspace

log = logging.getLogger("jupyter_mlops.core.pipelines")

MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value


def _params(values: dict[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    from ..tracking.values import flatten

    out = []
    for key, value in flatten(values).items():
        text = value if isinstance(value, str) else json.dumps(value)
        out.append(Param(key[:250], text[:MAX_PARAM_CHARS]))
    return out


class PipelineTracker:
    """MLflow bookkeeping of one pipeline run (thread-safe, never raises)."""

    def __init__(self, workspace: Workspace, *, pipeline: str, pipeline_key: str, run_id: str,
                 parameters: dict[str, Any], trigger: str, enabled: bool = True) -> None:
        self.ws = workspace
        self.pipeline = pipeline
        self.pipeline_key = pipeline_key
        self.run_id = run_id
        self.parameters = parameters
        self.trigger = trigger
        self.enabled = enabled
        self.error: str | None = None
        self.parent_id: str | None = None
        self.experiment_id: str | None = None
        self._lock = threading.Lock()

    def _call(self, what: str, fn: Any) -> Any:
        if not self.enabled:
            return None
        from ..tracking._mlflow import mlflow_errors

        try:
            with self._lock, mlflow_errors(self.ws.tracking_uri):
                return fn()
        except (MLOpsError, Exception) as exc:  # noqa: BLE001 - tracking is best effort
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.error = f"MLflow tracking stopped ({what}): {message}"[:1000]
            self.enabled = False
            log.warning("%s", self.error)
            return None

    def _base_tags(self) -> dict[str, str]:
        from ..tracking.context import environment, git_info

        tags = dict(environment().tags())
        tags.update(git_info(self.ws.root))
        tags.update({"mlops.pipeline": self.pipeline_key, "mlops.pipeline_run": self.run_id,
                     "mlops.trigger": self.trigger})
        return tags

    def start(self) -> str | None:
        def go() -> str:
            from ..tracking._mlflow import client_of, ensure_experiment

            client = client_of(self.ws)
            self.experiment_id = ensure_experiment(client, self.ws, self.pipeline)
            tags = self._base_tags()
            tags["mlops.kind"] = "pipeline"
            info = client.create_run(self.experiment_id, tags=tags,
                                     run_name=f"{self.pipeline} {self.run_id}").info
            params = _params(self.parameters)
            for i in range(0, len(params), 100):
                client.log_batch(info.run_id, params=params[i:i + 100])
            return info.run_id

        self.parent_id = self._call("start the pipeline run", go)
        return self.parent_id

    def start_step(self, step: str, attempt: int, parameters: dict[str, Any], notebook: Path,
                   output_notebook: Path) -> str | None:
        if self.parent_id is None:
            return None

        def go() -> str:
            from ..tracking._mlflow import client_of

            client = client_of(self.ws)
            tags = self._base_tags()
            tags.update({
                "mlflow.parentRunId": self.parent_id or "",
                "mlops.kind": "pipeline-step",
                "mlops.step": step,
                "mlops.attempt": str(attempt),
                "mlflow.source.type": "NOTEBOOK",
                "mlflow.source.name": str(notebook),
                "mlops.notebook": self._rel(notebook),
                "mlops.output_notebook": self._rel(output_notebook),
            })
            name = step if attempt <= 1 else f"{step} (attempt {attempt})"
            info = client.create_run(self.experiment_id, tags=tags, run_name=name).info
            params = _params(parameters)
            for i in range(0, len(params), 100):
                client.log_batch(info.run_id, params=params[i:i + 100])
            return info.run_id

        return self._call(f"start step {step}", go)

    def end_step(self, mlflow_id: str | None, status: str, output_notebook: Path | None,
                 log_path: Path | None, outputs: dict[str, Any] | None) -> None:
        if mlflow_id is None:
            return

        def go() -> None:
            from ..tracking._mlflow import client_of

            client = client_of(self.ws)
            if output_notebook is not None and output_notebook.is_file():
                client.log_artifact(mlflow_id, str(output_notebook), "notebook")
            if log_path is not None and log_path.is_file():
                client.log_artifact(mlflow_id, str(log_path), "logs")
            if outputs:
                client.log_text(mlflow_id, json.dumps(outputs, indent=2), "outputs.json")
            client.set_terminated(mlflow_id, _mlflow_status(status))

        self._call("end a step run", go)

    def end(self, status: str) -> None:
        if self.parent_id is None:
            return

        def go() -> None:
            from ..tracking._mlflow import client_of

            client_of(self.ws).set_terminated(self.parent_id, _mlflow_status(status))

        self._call("end the pipeline run", go)

    def _rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.ws.root).as_posix()
        except ValueError:
            return str(path)


def _mlflow_status(status: str) -> str:
    return {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED",
            "skipped": "KILLED"}.get(status, "FAILED")
