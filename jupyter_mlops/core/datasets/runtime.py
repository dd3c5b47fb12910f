"""Process-wide plumbing of the dataset API: which workspace, and who to tell.

`on_dataset_used` is the lineage seam: the tracking capability appends a
callable, and every snapshot and load calls it with `(version, action)`
where action is `"snapshot"` or `"load"`. Keeping the list here (not in
tracking) means datasets never import MLflow, and tracking can register
without datasets knowing it exists.
"""

from __future__ import annotations

from typing import Any

import json
import logging
import sys
from collections.abc import Callable

from ..workspace import Workspace
from .types import DatasetVersion

log = logging.getLogger("jupyter_mlops.core.datasets")

#: lineage hooks: called with (version, "snapshot" | "load"); tracking registers here
on_dataset_used: list[Callable[[DatasetVersion, str], None]] = []


def resolve_workspace(workspace: Any) -> Workspace:
    """The given workspace, else the process's current one (`jupyter_mlops.workspace()`)."""
    from ..workspace import use_workspace

    return use_workspace(workspace)


def notify(version: DatasetVersion, action: str) -> None:
    """Lineage is best effort: a failing hook must never lose the user's snapshot."""
    for hook in list(on_dataset_used):
        try:
            hook(version, action)
        except Exception:
            log.warning("dataset hook %r failed on %s of %s", hook, action, version.name,
                        exc_info=True)


def _log_to_active_run(version: DatasetVersion, action: str) -> None:
    """Lineage run → data: a snapshot or load inside a run becomes an MLflow dataset input.

    Looked up through sys.modules so that datasets never import MLflow: if the
    tracking module was never imported, no run can be active.
    """
    runs = sys.modules.get("jupyter_mlops.core.tracking.runs")
    run = runs.active_run() if runs is not None else None
    if run is None:
        return
    schema = json.dumps({"mlflow_colspec": [
        {"name": c.get("name"), "type": str(c.get("dtype", c.get("type", "")))}
        for c in (version.schema or [])][:200]})
    run.log_input(version.name, version.version, f"mlops-dataset://{version.name}@{version.version}",
                  schema=schema, profile=json.dumps({"rows": version.rows, "bytes": version.bytes}),
                  context="training" if action == "load" else "snapshot")


on_dataset_used.append(_log_to_active_run)


def _pipeline_trigger(version: DatasetVersion, action: str) -> None:
    """A new snapshot is a trigger for pipelines that wait on this dataset."""
    if action == "snapshot" and version.new:
        from ..pipelines.triggers import on_dataset_snapshot

        on_dataset_snapshot(version, action)


on_dataset_used.append(_pipeline_trigger)
