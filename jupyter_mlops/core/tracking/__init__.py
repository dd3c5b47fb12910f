"""Experiment tracking: runs logged from notebooks into the workspace's MLflow store.

`start_run()` gives a `Run` (batched metrics, params, artifacts, figures,
dataset inputs) with the notebook, git commit and environment recorded
automatically; `search_runs`, `get_run`, `metric_history` and `compare_runs`
answer the Experiments panel and the magics. MLflow is imported on first use,
never at import time.
"""

from __future__ import annotations

from .context import RunContext, collect_context, refresh_context
from .runs import Run, active_run, last_run, start_run
from .search import (
    Comparison,
    ExperimentInfo,
    MetricHistory,
    RunDetail,
    RunPage,
    RunSummary,
    compare_runs,
    get_run,
    list_experiments,
    metric_history,
    search_runs,
)

__all__ = [
    "Comparison",
    "ExperimentInfo",
    "MetricHistory",
    "Run",
    "RunContext",
    "RunDetail",
    "RunPage",
    "RunSummary",
    "active_run",
    "collect_context",
    "compare_runs",
    "get_run",
    "last_run",
    "list_experiments",
    "metric_history",
    "refresh_context",
    "search_runs",
    "start_run",
]
