"""`jupyter mlops demo`: the closed loop — drift → retraining → gate → canary — for real.

`create_demo(path)` makes a workspace with the churn project
(`jupyter_mlops/examples/churn_project`: prepare / train / evaluate notebooks,
`retrain.pipeline.yaml`, a walkthrough), trains the first champion through
the pipeline, deploys it, monitors it, sends traffic, injects drift and lets
the loop run through the alert's retraining run, the gate and the canary to a
new champion (`loop.STAGES`). Each stage's duration is kept in
`.mlops/demo.json`; running it again on a finished demo reuses it.

- `loop`      the stages, over the public API
- `traffic`   a background caller of the deployment
- `project`   the folder: project files, the welcome notebook, the demo record, reset
- `progress`  the terminal display (rich when installed, else tqdm)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.workspace import Workspace
from .loop import DEPLOYMENT, MODEL, STAGES, DemoFailed, DemoLoop
from .progress import Reporter, SilentReporter, terminal_reporter
from .project import check_folder, now_iso, read_marker, write_marker


@dataclass
class StageRecord:
    title: str
    seconds: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass
class DemoResult:
    workspace: Workspace
    stages: list[StageRecord] = field(default_factory=list)
    wall_s: float = 0.0
    reused: bool = False
    deployment_running: bool = False
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return [f"{s.title} ({s.seconds:.1f} s): {s.detail}" for s in self.stages]


def _tag_reference_and_current(ws: Workspace, facts: dict[str, Any]) -> None:
    """`customers@reference` (the first champion's data) and `@current` (the drifted window):
    the names the welcome notebook and a user's first `%drift` reach for."""
    from ..core.datasets import load_dataset, snapshot
    from ..core.pipelines import get_run_info

    for run_key, tag in (("first_run", "reference"), ("retrain_run", "current")):
        info = get_run_info(facts[run_key], ws)
        name, _, version = next(s for s in info.steps
                                if s.name == "prepare").outputs["train_set"].partition("@")
        snapshot(load_dataset(name, version, workspace=ws), name, tags=[tag], workspace=ws)


def create_demo(path: str | Path, progress: Callable[[int, str], None] | None = None, *,
                reporter: Reporter | None = None, keep_running: bool = False,
                reset: bool = False) -> DemoResult:
    """Make the demo workspace in `path` and run the loop in it (a few minutes).

    A folder holding a finished demo is reused as it is (`reset=True` makes it
    again); an unfinished one is cleared and made again; any other non-empty
    folder is refused. The deployment is stopped at the end unless
    `keep_running` (JupyterLab's panels then show it live).
    """
    root = Path(path).expanduser().resolve()
    reporter = reporter or SilentReporter()
    if check_folder(root, reset=reset) == "reuse":
        marker = read_marker(root) or {}
        result = DemoResult(Workspace.resolve(root), reused=True,
                            wall_s=float(marker.get("wall_s") or 0.0),
                            facts=dict(marker.get("facts") or {}))
        result.stages = [StageRecord(s["title"], float(s["seconds"]), s.get("detail", ""))
                         for s in marker.get("stages", [])]
        if keep_running:
            result.deployment_running = _start_again(result.workspace)
        return result
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace.resolve(root)
    ws.ensure_layout()
    result = DemoResult(ws)
    record: dict[str, Any] = {"status": "running", "started": now_iso(), "stages": []}
    write_marker(root, record)
    loop = DemoLoop(ws, reporter)
    started = time.monotonic()
    try:
        for index, (title, method) in enumerate(STAGES):
            reporter.stage(index, len(STAGES), title)
            if progress:
                progress(index, title)
            t0 = time.monotonic()
            detail = getattr(loop, method)()
            stage = StageRecord(title, time.monotonic() - t0, detail)
            result.stages.append(stage)
            reporter.done(index, len(STAGES), title, stage.seconds, detail)
            record["stages"].append(stage.to_dict())
            write_marker(root, record)
        _tag_reference_and_current(ws, loop.facts)
        record["status"] = "complete"
    except BaseException as exc:
        record["status"] = "failed"
        record["error"] = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        try:
            loop.finish(keep_running)
        finally:
            result.wall_s = time.monotonic() - started
            result.facts = loop.facts
            result.deployment_running = keep_running and loop.deployment is not None
            record.update(finished=now_iso(), wall_s=round(result.wall_s, 3),
                          facts=loop.facts)
            write_marker(root, record)
    return result


def _start_again(ws: Workspace) -> bool:
    """A reused demo opened in JupyterLab: its deployment runs again so the panels show it."""
    from ..core.deploy import get_deployment

    dep = get_deployment(DEPLOYMENT, workspace=ws)
    if dep.status not in ("running", "degraded"):
        dep.start()
    return True


__all__ = ["DEPLOYMENT", "MODEL", "STAGES", "DemoFailed", "DemoResult", "StageRecord",
           "create_demo", "terminal_reporter"]
