"""`jupyter mlops pipeline …` and `jupyter mlops scheduler`: the terminal surface of pipelines.

    jupyter mlops pipeline run FILE [-p key=value …] [--no-track] [--json]
    jupyter mlops pipeline validate FILE [--json]
    jupyter mlops pipeline runs [--pipeline FILE] [--limit N] [--json]
    jupyter mlops pipeline cancel RUN_ID
    jupyter mlops scheduler [--lease-ttl S] [--misfire-grace S] [--reconcile fail|retry]
                            [--no-notify]

`run` shows a progress bar over steps and cells and exits 0 when the run
succeeded, 4 when it failed or was cancelled (1 for a bad spec or parameter,
as every command), 130 when interrupted (the run is cancelled first).
`add_pipeline_commands(sub, with_workspace)` registers all of this on the
main parser.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .core.workspace import Workspace

EXIT_RUN_FAILED = 4
EXIT_INTERRUPTED = 130


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.resolve(getattr(args, "workspace", None))


class _Bars:
    """Two tqdm bars: steps done of all steps, and cells done of the steps started so far."""

    def __init__(self, total_steps: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.enabled = enabled
        self.lock = threading.Lock()
        self.cells: dict[str, tuple[int, int | None]] = {}
        self.running: dict[str, str] = {}
        self.steps = tqdm(total=total_steps, desc="steps", unit="step", file=sys.stderr,
                          position=0, disable=not enabled, leave=True)
        self.cell_bar = tqdm(total=0, desc="cells", unit="cell", file=sys.stderr, position=1,
                             disable=not enabled, leave=True)

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            kind = event.get("type")
            step = event.get("step")
            if kind == "progress" and step:
                self.cells[step] = (int(event.get("cells_done") or 0), event.get("cells_total"))
                total = sum(t or d for d, t in self.cells.values())
                done = sum(d for d, _t in self.cells.values())
                self.cell_bar.total = max(total, done)
                self.cell_bar.n = done
                self.cell_bar.set_postfix_str(", ".join(
                    f"{s} {d}/{t if t is not None else '?'}" for s, (d, t) in self.cells.items()
                    if s in self.running), refresh=False)
                self.cell_bar.refresh()
            elif kind == "step" and step:
                status = event.get("status")
                if status == "running":
                    self.running[step] = status
                elif status in ("succeeded", "failed", "skipped", "cancelled"):
                    self.running.pop(step, None)
                    self.steps.update(1)
                    if status != "succeeded" and self.enabled:
                        why = f" — {event['error']}" if event.get("error") else ""
                        self.steps.write(f"  {step}: {status}{why}", file=sys.stderr)
                elif status == "retrying" and self.enabled:
                    self.steps.write(f"  {step}: attempt {event.get('attempt')} failed, retrying "
                                     f"({event.get('error')})", file=sys.stderr)
                self.steps.set_postfix_str(", ".join(self.running), refresh=True)

    def close(self) -> None:
        self.cell_bar.close()
        self.steps.close()


def _print_failure(info: Any) -> None:
    for step in info.steps:
        if step.status != "failed" or not step.error:
            continue
        err = step.error
        cell = f" at cell {err['cell_index']}" if err.get("cell_index") is not None else ""
        what = f"{err.get('ename') or 'Error'}: {err.get('evalue') or err.get('message')}"
        print(f"\nstep {step.name!r} failed{cell}: {what}", file=sys.stderr)
        if err.get("traceback"):
            lines = str(err["traceback"]).strip().splitlines()
            print("\n".join("    " + line for line in lines[-15:]), file=sys.stderr)
        if step.output_notebook:
            print(f"    executed notebook: {step.output_notebook}", file=sys.stderr)


def cmd_pipeline_run(args: argparse.Namespace) -> int:
    from .core.pipelines.runs import RUN_DONE, PipelineRun, run_pipeline
    from .core.pipelines.spec import load_spec, parse_cli_parameters

    ws = _workspace(args)
    params = parse_cli_parameters(args.param or [])
    spec = load_spec(args.file, ws)
    show = not args.json and not args.quiet and sys.stderr.isatty() or args.progress
    bars = _Bars(len(spec.steps), enabled=bool(show))
    run: PipelineRun | None = None
    try:
        run = run_pipeline(spec, params, wait=False, workspace=ws, on_event=bars,
                           track=not args.no_track, trigger="cli")
        if not show and not args.json:
            print(f"run {run.id} started", file=sys.stderr)
        run.wait()
    except KeyboardInterrupt:
        if run is not None:
            run.cancel("interrupted from the terminal")
            deadline = time.monotonic() + 10
            while run.status not in RUN_DONE and time.monotonic() < deadline:
                time.sleep(0.1)
        bars.close()
        print("interrupted: the run was cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bars.close()
    info = run.info()
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, default=str))
    else:
        print(f"{info.name} run {info.id}: {info.status} in {info.duration_s or 0:.1f}s")
        for step in info.steps:
            took = f"{step.duration_s:.1f}s" if step.duration_s is not None else "-"
            outs = f" outputs={json.dumps(step.outputs)}" if step.outputs else ""
            print(f"  {step.name:<24} {step.status:<10} {took:>7}  "
                  f"{step.output_notebook or ''}{outs}")
        if info.status != "succeeded":
            _print_failure(info)
            if info.error and not any(s.status == "failed" for s in info.steps):
                print(f"\n{info.error}", file=sys.stderr)
    return 0 if info.status == "succeeded" else EXIT_RUN_FAILED


def cmd_pipeline_validate(args: argparse.Namespace) -> int:
    from .core.pipelines.graph import build_graph
    from .core.pipelines.scheduler import next_fire_times
    from .core.pipelines.spec import load_spec

    ws = _workspace(args)
    spec = load_spec(args.file, ws)
    graph = build_graph(spec)
    upcoming = (next_fire_times(spec.schedule.cron, spec.schedule.timezone, 5)
                if spec.schedule else [])
    if args.json:
        print(json.dumps({"valid": True, "name": spec.name, "key": spec.key,
                          "spec": spec.to_dict(), "graph": graph.to_dict(),
                          "upcoming": [t.isoformat() for t in upcoming]}, indent=2, default=str))
        return 0
    print(f"{args.file}: valid pipeline {spec.name!r} ({len(spec.steps)} step(s), "
          f"concurrency {spec.concurrency})")
    for name in graph.order():
        step = spec.step(name)
        deps = graph.upstream[name]
        extra = [f"after {', '.join(deps)}"] if deps else []
        if step.retries:
            extra.append(f"retries {step.retries}")
        if step.timeout:
            extra.append(f"timeout {step.timeout:g}s")
        print(f"  {name:<20} {step.notebook}{'  (' + '; '.join(extra) + ')' if extra else ''}")
    for pname, pspec in spec.parameters.items():
        default = "required" if pspec.required else f"default {pspec.default!r}"
        print(f"  param {pname}: {pspec.type or 'any'}, {default}")
    if spec.schedule:
        print(f"  schedule {spec.schedule.cron!r} ({spec.schedule.timezone}, catch_up "
              f"{spec.schedule.catch_up}); next: "
              + ", ".join(t.strftime("%Y-%m-%d %H:%M:%S UTC") for t in upcoming))
    for trigger in spec.triggers:
        print(f"  trigger {trigger.kind}: {trigger.subject}")
    return 0


def cmd_pipeline_runs(args: argparse.Namespace) -> int:
    from .core.pipelines.runs import list_pipeline_runs

    ws = _workspace(args)
    pipeline = None
    if args.pipeline:
        path = ws.resolve_path(args.pipeline)
        pipeline = ws.relpath(path)
    runs = list_pipeline_runs(ws, pipeline=pipeline, limit=args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2, default=str))
        return 0
    for info in runs:
        steps = " ".join(f"{s.name}:{s.status}" for s in info.steps)
        print(f"{info.id}  {info.status:<10} {info.trigger:<16} {info.pipeline}  {steps}")
    if not runs:
        print("no runs")
    return 0


def cmd_pipeline_cancel(args: argparse.Namespace) -> int:
    from .core.pipelines.runs import cancel_pipeline_run

    run = cancel_pipeline_run(args.run_id, _workspace(args), "cancelled from the terminal")
    print(f"run {run.id}: cancel requested ({run.status})")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from .core.notify import Notifier
    from .core.pipelines.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("jupyter_mlops.core.pipelines").setLevel(logging.INFO)
    ws = _workspace(args)
    scheduler = Scheduler(ws, lease_ttl=args.lease_ttl, tick=args.tick,
                          misfire_grace=args.misfire_grace, reconcile=args.reconcile,
                          sync_specs=not args.no_sync, track=not args.no_track)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    notifier = None if args.no_notify else Notifier(ws)
    print(f"scheduler {scheduler.holder} on {ws.root} (lease {args.lease_ttl:g}s"
          f"{'' if notifier else ', webhooks not delivered'}); Ctrl-C stops", file=sys.stderr)
    try:
        if args.once:  # one pass (e.g. from cron), waiting for the runs it started
            from .core.pipelines.runs import PipelineRun

            report = scheduler.tick()
            for run_id in report["started"]:
                PipelineRun(run_id, ws).wait()
            scheduler.release_lease()
            if notifier is not None:  # including what those runs recorded
                report["notifications"] = notifier.run_once()
            print(json.dumps(report, default=str))
        else:
            if notifier is not None:
                notifier.start()
            scheduler.run_forever(stop, duration=args.duration)
    finally:
        if notifier is not None:
            notifier.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"scheduler stopped: {json.dumps(scheduler.stats)}", file=sys.stderr)
    return 0


def add_pipeline_commands(sub: Any, with_workspace: Callable[[argparse.ArgumentParser],
                                                             argparse.ArgumentParser]) -> None:
    """Register `pipeline …` and `scheduler` on the `jupyter mlops` sub-parsers."""
    pipeline = sub.add_parser("pipeline", help="run and validate notebook pipelines")
    psub = pipeline.add_subparsers(dest="pipeline_command", metavar="COMMAND")
    pipeline.set_defaults(func=lambda _args: (pipeline.print_help(), 0)[1])

    run = with_workspace(psub.add_parser(
        "run", help="run a pipeline spec (.pipeline.yaml) or a notebook"))
    run.add_argument("file", help="a .pipeline.yaml file or a notebook, in the workspace")
    run.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                     help="a pipeline parameter (repeatable); typed by the spec")
    run.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.add_argument("--progress", action="store_true",
                     help="show the progress bar even when stderr is not a terminal")
    run.set_defaults(func=cmd_pipeline_run)

    validate = with_workspace(psub.add_parser("validate", help="check a pipeline spec"))
    validate.add_argument("file")
    validate.set_defaults(func=cmd_pipeline_validate)

    runs = with_workspace(psub.add_parser("runs", help="list recent pipeline runs"))
    runs.add_argument("--pipeline", default=None, help="only runs of this spec or notebook")
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(func=cmd_pipeline_runs)

    cancel = with_workspace(psub.add_parser("cancel", help="cancel a pipeline run"))
    cancel.add_argument("run_id")
    cancel.set_defaults(func=cmd_pipeline_cancel)

    sched = with_workspace(sub.add_parser(
        "scheduler", help="fire pipeline schedules and triggers (headless; Ctrl-C stops)"))
    sched.add_argument("--lease-ttl", type=float, default=15.0,
                       help="seconds a scheduler holds the lease between renewals (default 15)")
    sched.add_argument("--tick", type=float, default=0.25, help="seconds between checks")
    sched.add_argument("--misfire-grace", type=float, default=10.0,
                       help="a slot later than this was missed: its catch-up policy applies")
    sched.add_argument("--reconcile", choices=("fail", "retry"), default="fail",
                       help="runs left running by a dead process: mark failed, or run again")
    sched.add_argument("--no-sync", action="store_true",
                       help="do not sync schedules declared in *.pipeline.yaml files")
    sched.add_argument("--no-track", action="store_true", help="do not log runs to MLflow")
    sched.add_argument("--no-notify", action="store_true",
                       help="do not post events to the workspace's webhooks (the Jupyter "
                            "server does it, or no one)")
    sched.add_argument("--once", action="store_true", help="one pass, then exit")
    sched.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    sched.set_defaults(func=cmd_scheduler)
