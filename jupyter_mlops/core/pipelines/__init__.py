"""Pipelines: notebooks as parameterized papermill steps, run now, on a schedule, on a trigger.

- `spec`      loading and checking a YAML spec (file, line and reason in every error);
              `spec_models` (the pydantic models / JSON schema), `values` (parameter
              types, cron), `spec_errors` (YAML lines), `references` (`${...}`),
              `notebooks` (a notebook is a one-step pipeline)
- `graph`     the step DAG (cycles named)
- `executor`  where steps run: a pool of local worker processes by default, pluggable
- `step_runner`, `kernel_pool`  one step: papermill on a fresh (pre-started) kernel
- `runs`      `run_pipeline()`, `PipelineRun`, creating runs, reconciliation;
              `run_state` (stored runs, views), `orchestrator` (the thread driving a run)
- `outputs`   `output(name, value)`: values a step passes downstream
- `schedules` (timetables, CRUD, spec sync), `scheduler` (firing them, the lease),
  `triggers` (trigger events)

Names are served lazily: the step worker imports this package, and it must
not pay for MLflow or the scheduler.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    **{name: "runs" for name in (
        "run_pipeline", "PipelineRun", "PipelineFailed", "RunInfo", "StepStatus",
        "list_pipeline_runs", "get_run_info", "cancel_pipeline_run", "rerun_pipeline_run",
        "reconcile_orphans", "launch_run")},
    **{name: "spec" for name in (
        "PipelineSpec", "StepSpec", "ParameterSpec", "ScheduleSpec", "TriggerSpec", "load_spec",
        "parse_spec_text", "notebook_pipeline", "resolve_run_parameters", "json_schema",
        "parse_cli_parameters")},
    "build_graph": "graph",
    "PipelineGraph": "graph",
    "output": "outputs",
    "recorded_outputs": "outputs",
    **{name: "executor" for name in (
        "Executor", "LocalProcessExecutor", "StepHandle", "get_executor", "configure_executor",
        "shutdown_executors")},
    **{name: "scheduler" for name in (
        "Scheduler", "ScheduleInfo", "create_schedule", "update_schedule", "pause_schedule",
        "resume_schedule", "delete_schedule", "get_schedule", "list_schedules",
        "next_fire_times", "sync_spec_schedules", "discover_pipelines")},
    **{name: "triggers" for name in (
        "record_trigger", "list_triggers", "TriggerEvent", "install_dataset_trigger",
        "on_dataset_snapshot")},
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops.core.pipelines' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_EXPORTS)
