"""jupyter-mlops: a notebook-first MLOps workbench.

This module is the public Python API a notebook uses (`import jupyter_mlops`),
and the entry points Jupyter looks for: the server extension, the prebuilt
labextension and the IPython extension (`%load_ext jupyter_mlops`).
Heavy imports (MLflow, pandas, the server) happen only when used.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0+unknown"

from .core.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    MLOpsError,
    NotFound,
    OutsideWorkspace,
)
from .core.workspace import Workspace

_current: Workspace | None = None

#: public names served lazily from capability modules (pandas and MLflow load on first use)
_LAZY: dict[str, str] = {
    **{name: "jupyter_mlops.core.datasets" for name in (
        "snapshot", "load_dataset", "list_datasets", "list_versions", "get_version", "diff",
        "validate", "set_expectations", "get_expectations", "gc", "DatasetVersion")},
    **{name: "jupyter_mlops.core.tracking" for name in (
        "start_run", "active_run", "last_run", "search_runs", "get_run", "compare_runs",
        "metric_history", "list_experiments")},
    "log": "jupyter_mlops.tracking_magics",
    **{name: "jupyter_mlops.core.pipelines" for name in (
        "run_pipeline", "output", "PipelineRun", "list_pipeline_runs",
        "create_schedule", "list_schedules", "record_trigger")},
    **{name: "jupyter_mlops.core.registry" for name in (
        "register_model", "get_model_version", "list_models", "list_model_versions", "load_model",
        "set_alias", "remove_alias", "promote", "alias_history", "protect_alias",
        "unprotect_alias", "protected_aliases", "gate", "list_gate_results", "get_gate_result",
        "lineage", "ModelVersion", "GateResult", "LineageGraph")},
    **{name: "jupyter_mlops.core.deploy" for name in (
        "deploy", "deployments", "get_deployment", "Deployment", "read_predictions",
        "prediction_frame", "shadow_comparison")},
    "drift": "jupyter_mlops.core.drift",
    "DriftReport": "jupyter_mlops.core.drift",
    "drift_explorer": "jupyter_mlops.drift_magics",
    **{name: "jupyter_mlops.core.monitor" for name in (
        "monitor", "monitors", "get_monitor", "alerts", "acknowledge", "timeline")},
    "concept_drift": "jupyter_mlops.core.drift",
    **{name: "jupyter_mlops.core.notify" for name in (
        "add_webhook", "list_webhooks", "update_webhook", "remove_webhook", "test_webhook")},
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def workspace(root: str | None = None, **overrides: Any) -> Workspace:
    """The workspace this process works in (resolved once, then reused).

    In a kernel started by a Jupyter server with jupyter-mlops, it is the
    server's workspace; elsewhere the nearest folder with `.mlops/`, or the
    working directory. Passing `root` (or URIs) switches to another one.
    """
    global _current
    if root is not None or overrides or _current is None:
        if _current is not None:
            _current.close()
        _current = Workspace.resolve(root, **overrides)
    return _current


def info() -> dict[str, Any]:
    """Where this process's workspace keeps its state."""
    return workspace().info()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import MLOps

    return [{"module": "jupyter_mlops", "app": MLOps}]


def load_ipython_extension(ipython: Any) -> None:
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:  # noqa: ARG001 - IPython's signature
    """Nothing to undo: magics are replaced on the next load."""


__all__ = [
    *_LAZY,
    "BackendUnavailable",
    "Conflict",
    "InvalidInput",
    "MLOpsError",
    "NotFound",
    "OutsideWorkspace",
    "Workspace",
    "__version__",
    "info",
    "workspace",
]
