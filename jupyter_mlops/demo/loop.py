"""The stages of the demo: the closed loop, run for real, one public API call after another.

    workspace → first training (the pipeline) → deploy the champion → a monitor →
    normal traffic → drift → the alert's retraining run → gate → canary → new champion

Every stage calls the same functions a notebook or a panel does (the
pipeline runs papermill notebooks on real kernels, the deployment is a router
process with model servers, the monitor reads the real prediction log and the
scheduler consumes the alert's trigger), so the demo doubles as the
end-to-end test of the loop. `STAGES` names them; `DemoLoop` runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..core.errors import MLOpsError
from ..core.workspace import Workspace
from ..examples.churn import FEATURES, Market
from .progress import Reporter

PIPELINE = "retrain.pipeline.yaml"
MODEL = "churn"
DEPLOYMENT = "churn-api"
MONITOR = "churn-api-drift"
WINDOW_ROWS = 1000       #: rows of the prediction log a check reads
SHIFT = 0.6              #: how far the market moves when the demo injects drift
POLL = 0.25


class DemoFailed(MLOpsError):
    """A stage of the loop did not end as it must (the message says which and why)."""

    code = "demo_failed"


def _wait(what: str, predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"Gave up after {timeout:g} s waiting for {what}.")
        time.sleep(POLL)


def _step_error(info: Any) -> str:
    for step in info.steps:
        if step.status == "failed" and step.error:
            err = step.error
            return (f"step {step.name} failed: {err.get('ename') or ''} {err.get('evalue') or ''}"
                    f" {err.get('message') or ''}".strip() + f" (see {step.output_notebook})")
    return info.error or info.status


class DemoLoop:
    """Holds what the stages share (executor, scheduler, traffic, deployment, monitor)."""

    def __init__(self, ws: Workspace, reporter: Reporter) -> None:
        self.ws = ws
        self.reporter = reporter
        self.market = Market(ws.root)
        self.executor: Any = None
        self.scheduler: Any = None
        self.traffic: Any = None
        self.deployment: Any = None
        self.monitor: Any = None
        self.facts: dict[str, Any] = {}

    # -- the stages ------------------------------------------------------------------------------
    def create_workspace(self) -> str:
        from ..core.pipelines.executor import LocalProcessExecutor
        from .project import copy_project, write_welcome

        self.ws.ensure_layout()
        _ = self.ws.engine
        self.ws.mlflow.ping()
        copied = copy_project(self.ws.root)
        write_welcome(self.ws.root)
        self.market.change(0.0)
        # one worker is enough for a sequential pipeline; two kernels kept warm so each step
        # starts at once (the papermill steps run in this executor, here and when triggered)
        self.executor = LocalProcessExecutor(max_workers=1, prestart_kernels=2).start()
        return (f"state DB and MLflow store in .mlops/, {len(copied)} project files "
                f"({', '.join(copied) or 'kept'}), welcome.ipynb")

    def first_training(self) -> str:
        from ..core.pipelines import run_pipeline
        from ..core.registry import get_model_version, list_gate_results

        def on_event(event: dict[str, Any]) -> None:
            if event.get("type") == "step" and event.get("status") in ("succeeded", "failed"):
                self.reporter.note(f"step {event['step']} {event['status']}")

        run = run_pipeline(PIPELINE, workspace=self.ws, executor=self.executor,
                           on_event=on_event)
        info = run.info()
        if info.status != "succeeded":
            raise DemoFailed(f"The first training run {run.id} {info.status}: "
                             f"{_step_error(info)}")
        champion = get_model_version(MODEL, "champion", workspace=self.ws)
        gate = list_gate_results(MODEL, workspace=self.ws)[0]
        self.facts["first_run"] = run.id
        self.facts["first_champion"] = int(champion.version)
        steps = ", ".join(f"{s.name} {s.duration_s:.1f} s" for s in info.steps)
        return (f"run {run.id} ({steps}); gate #{gate.id} passed with no champion to beat: "
                f"{MODEL} v{champion.version} is the champion")

    def deploy(self) -> str:
        from ..core.deploy import deploy

        self.deployment = deploy(f"{MODEL}@champion", name=DEPLOYMENT, workspace=self.ws)
        return f"{DEPLOYMENT} serves {MODEL} v{self.facts['first_champion']} at " \
               f"{self.deployment.url}"

    def watch(self) -> str:
        from ..core.monitor import monitor
        from ..core.pipelines.scheduler import Scheduler

        self.monitor = monitor(DEPLOYMENT, window=WINDOW_ROWS, min_rows=WINDOW_ROWS // 2,
                               columns=list(FEATURES), on_drift=PIPELINE, cooldown="1h",
                               name=MONITOR, workspace=self.ws)
        # the scheduler consumes the alert's trigger event and starts the run, as the
        # Jupyter server's scheduler does when JupyterLab runs
        self.scheduler = Scheduler(self.ws, executor=self.executor, tick=POLL).start()
        return (f"monitor {MONITOR}: last {WINDOW_ROWS} scored rows vs the champion's training "
                f"data (lineage); on drift → {PIPELINE}")

    def normal_traffic(self) -> str:
        from .traffic import Traffic

        self.traffic = Traffic(self.deployment.url, self.market)
        self.traffic.start()
        self.traffic.wait_rows(WINDOW_ROWS + 100)
        check = self._check_when_logged()
        if check.status != "ok":
            raise DemoFailed(f"The check of normal traffic should find no drift; check "
                             f"{check.id} says {check.status}: {check.message or check.share}.")
        return (f"{self.traffic.rows():,} rows scored; check #{check.id}: {check.status}, "
                f"{check.n_drifted or 0} of {check.n_evaluated or 0} columns drifted")

    def inject_drift(self) -> str:
        self.market.change(SHIFT)
        self.reporter.note(f"the market moved (shift {SHIFT}): longer bills, more support "
                           f"calls, other reasons to leave")
        # the window fills with the new customers only: the alert names a window of them, which
        # the retraining run then learns from
        self.traffic.wait_rows(WINDOW_ROWS + 200)
        deadline = time.monotonic() + 90
        check = None
        while time.monotonic() < deadline:
            check = self._check_when_logged()
            self.reporter.note(f"check #{check.id}: {check.status}, {check.n_drifted or 0} of "
                               f"{check.n_evaluated or 0} columns drifted")
            if check.alert_id is not None:
                break
            if check.status == "error":
                raise DemoFailed(f"Check {check.id} of {MONITOR} failed: {check.message}")
            self.traffic.wait_rows(WINDOW_ROWS // 2)
        if check is None or check.alert_id is None:
            raise DemoFailed(f"No drift alert within 90 s of the shift (last check: "
                             f"{check.status if check else 'none'}: "
                             f"{check.message if check else ''}).")
        self.facts["alert_id"] = check.alert_id
        self.facts["drift_check"] = check.id
        cols = ", ".join(check.drifted_columns)
        return (f"alert #{check.alert_id}: {cols} drifted (share {check.share:.0%}); "
                f"trigger for {PIPELINE} recorded")

    def retrain(self) -> str:
        from ..core.pipelines import get_run_info, list_pipeline_runs

        def triggered() -> Any:
            runs = list_pipeline_runs(self.ws, pipeline=PIPELINE, limit=10, steps=False)
            return next((r for r in runs if r.trigger == "drift_alert"), None)

        run = _wait("the scheduler to start the triggered run", triggered, 60)
        self.facts["retrain_run"] = run.id
        self.reporter.note(f"run {run.id} started by the scheduler (trigger drift_alert)")
        self._follow_steps(run.id, until="train")
        info = get_run_info(run.id, self.ws)
        version = int(next(s for s in info.steps if s.name == "train").outputs["version"])
        self.facts["challenger"] = version
        rows = next(s for s in info.steps if s.name == "prepare").outputs.get("rows")
        return (f"run {run.id}: {rows} customers of the drifted window, labelled; "
                f"{MODEL} v{version} registered as challenger")

    def gate(self) -> str:
        from ..core.registry import list_gate_results

        version = self.facts["challenger"]

        def gated() -> Any:
            self._raise_if_failed(self.facts["retrain_run"])
            return next((g for g in list_gate_results(MODEL, workspace=self.ws)
                         if g.challenger == version), None)

        result = _wait("the gate of the challenger", gated, 300)
        self.facts["gate_id"] = result.id
        scores = result.scores or {}
        detail = ", ".join(f"{check.metric} {check.champion:.3f} → {check.challenger:.3f}"
                           for check in result.checks
                           if getattr(check, "champion", None) is not None
                           and getattr(check, "challenger", None) is not None) or str(scores)
        if not result.passed:
            raise DemoFailed(f"Gate #{result.id} refused v{version}: {'; '.join(result.reasons)}")
        dataset = result.dataset.split("@")[0] + "@" + result.dataset.split("@")[-1][:12]
        return f"gate #{result.id} passed on {dataset}: {detail}"

    def canary(self) -> str:
        from ..core.pipelines import get_run_info
        from ..core.registry import get_model_version

        run_id, seen = self.facts["retrain_run"], set()

        def finished() -> Any:
            rollout = self.deployment.rollout or {}
            for entry in rollout.get("history") or []:
                mark = (entry.get("what"), entry.get("weight"), entry.get("ts"))
                if mark not in seen and entry.get("weight") is not None:
                    seen.add(mark)
                    self.reporter.note(f"v{self.facts['challenger']} takes "
                                       f"{entry['weight']:g}% of the traffic")
            info = get_run_info(run_id, self.ws)
            return info if info.status not in ("queued", "running") else None

        info = _wait("the canary and the retraining run to end", finished, 600)
        if info.status != "succeeded":
            raise DemoFailed(f"The retraining run {run_id} {info.status}: {_step_error(info)}")
        rollout = self.deployment.rollout or {}
        champion = int(get_model_version(MODEL, "champion", workspace=self.ws).version)
        if champion != self.facts["challenger"]:
            raise DemoFailed(f"The canary ended {rollout.get('state')} but champion is "
                             f"v{champion}, not v{self.facts['challenger']}.")
        steps = " → ".join(f"{w:g}%" for w in (self.deployment.strategy or {}).get("steps", []))
        return (f"canary {steps} {rollout.get('state', 'promoted')}; {MODEL}@champion "
                f"v{self.facts['first_champion']} → v{champion}; traffic "
                f"{self._traffic_text()}")

    # -- helpers ---------------------------------------------------------------------------------
    def _check_when_logged(self) -> Any:
        """A monitor check once the router has written what was sent (it flushes every 2 s)."""
        time.sleep(2.5)
        return self.monitor.check()

    def _raise_if_failed(self, run_id: str) -> None:
        from ..core.pipelines import get_run_info

        info = get_run_info(run_id, self.ws)
        if info.status in ("failed", "cancelled"):
            raise DemoFailed(f"The retraining run {run_id} {info.status}: {_step_error(info)}")

    def _follow_steps(self, run_id: str, until: str, timeout: float = 600) -> None:
        from ..core.pipelines import get_run_info

        reported: set[str] = set()

        def done() -> bool:
            info = get_run_info(run_id, self.ws)
            for step in info.steps:
                if step.status in ("succeeded", "failed") and step.name not in reported:
                    reported.add(step.name)
                    took = f" in {step.duration_s:.1f} s" if step.duration_s else ""
                    self.reporter.note(f"step {step.name} {step.status}{took}")
            if info.status in ("failed", "cancelled"):
                raise DemoFailed(f"The retraining run {run_id} {info.status}: "
                                 f"{_step_error(info)}")
            return until in reported

        _wait(f"step {until} of run {run_id}", done, timeout)

    def _traffic_text(self) -> str:
        try:
            return ", ".join(f"{k} {v:g}%" for k, v in self.deployment.traffic.items())
        except MLOpsError:
            return "unknown"

    def finish(self, keep_running: bool) -> None:
        """Stop what the demo started in this process; the deployment too unless kept."""
        if self.traffic is not None:
            self.traffic.stop()
            self.facts["traffic"] = self.traffic.summary()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        if self.deployment is not None and not keep_running:
            self.deployment.stop()


#: (title, method of DemoLoop) in order
STAGES: tuple[tuple[str, str], ...] = (
    ("Create the workspace and copy the churn project", "create_workspace"),
    ("Train the first model through retrain.pipeline.yaml", "first_training"),
    ("Deploy churn@champion as churn-api", "deploy"),
    ("Watch it: a drift monitor that triggers retraining", "watch"),
    ("Send normal traffic and check", "normal_traffic"),
    ("Inject drift into the traffic", "inject_drift"),
    ("Retrain: the alert's pipeline run prepares and trains", "retrain"),
    ("Gate: challenger vs champion on held-out data", "gate"),
    ("Canary: the router rolls the challenger out", "canary"),
)
