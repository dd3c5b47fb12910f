"""`jupyter mlops …`: the terminal surface (the `jupyter-mlops` console script).

Exit codes: 0 success, 1 a user error (message on stderr, no traceback),
2 a usage error (argparse), 3 a backend that does not answer, 4 a pipeline run
that failed or was cancelled, 5 a gate that rejected the challenger
(`models gate`), 6 a dataset version that breaks its expectations
(`datasets validate`), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import __version__
from .core.errors import BackendUnavailable, MLOpsError
from .core.workspace import Workspace
from .render import health_lines, key_values


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.resolve(args.workspace)


def cmd_info(args: argparse.Namespace) -> int:
    info = _workspace(args).info()
    if args.json:
        print(json.dumps({"version": __version__, "workspace": info}, indent=2))
    else:
        print(key_values(f"jupyter-mlops {__version__} workspace", info))
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    results = _workspace(args).health()
    if args.json:
        print(json.dumps({k: v.to_dict() for k, v in results.items()}, indent=2))
    else:
        print(health_lines(results))
    return 0 if all(r.ok for r in results.values()) else 3


def cmd_openapi(args: argparse.Namespace) -> int:
    from .server.openapi import render_yaml

    text = render_yaml()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The closed loop, for real, in a new workspace; then JupyterLab on it (unless --no-lab)."""
    from pathlib import Path

    from .demo import DEPLOYMENT, create_demo, terminal_reporter

    root = Path(args.path).expanduser().resolve()
    keep = args.lab or args.keep_running
    print(f"jupyter-mlops demo in {root}: train, deploy, monitor, drift, retrain, gate, "
          f"canary (a minute or two)", file=sys.stderr)
    reporter = terminal_reporter()
    try:
        result = create_demo(root, reporter=reporter, keep_running=keep, reset=args.reset)
    except KeyboardInterrupt:
        reporter.close()
        print("Interrupted: what the demo started is stopped; run it again to start over.",
              file=sys.stderr)
        return 130
    finally:
        reporter.close()
    if result.reused:
        print(f"{root} already holds a finished demo (its loop took {result.wall_s:.0f} s); "
              f"reusing it. Run with --reset to make it again.")
    else:
        print("Stage timings:")
        for stage in result.stages:
            print(f"  {stage.seconds:7.1f} s  {stage.title}")
        print(f"  {result.wall_s:7.1f} s  in all")
    print(f"Demo workspace ready: {result.workspace.root}")
    if not args.lab:
        if result.deployment_running:
            print(f"Deployment {DEPLOYMENT} keeps running; stop it with "
                  f"jupyter_mlops.get_deployment('{DEPLOYMENT}').stop() in a notebook.")
        print(f"Open it with: jupyter lab --notebook-dir {result.workspace.root}")
        return 0
    return launch_lab(str(result.workspace.root), args.port, args.lab_args)


def launch_lab(root: str, port: int | None, extra: Sequence[str]) -> int:
    """Replace this process with JupyterLab on the workspace (Ctrl-C stops it as usual)."""
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1"]
    if port:
        argv.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    argv.extend(extra)
    sys.stdout.flush()
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mlops", description="jupyter-mlops: a notebook-first MLOps workbench.")
    parser.add_argument("--version", action="version", version=f"jupyter-mlops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_workspace(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--workspace", "-w", default=None,
                       help="workspace folder (default: $JUPYTER_MLOPS_WORKSPACE, the nearest "
                            "folder with .mlops/, or the current directory)")
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    with_workspace(sub.add_parser("info", help="where the workspace keeps its state")
                   ).set_defaults(func=cmd_info)
    with_workspace(sub.add_parser("health", help="whether the state DB and MLflow answer")
                   ).set_defaults(func=cmd_health)
    demo = sub.add_parser(
        "demo", help="run the closed loop (drift → retraining → gate → canary) in a demo "
                     "workspace and open JupyterLab on it")
    demo.add_argument("path", nargs="?", default="mlops-demo", help="folder (default: mlops-demo)")
    demo.add_argument("--no-lab", dest="lab", action="store_false",
                      help="run the loop headless and exit (CI); the deployment is stopped")
    demo.add_argument("--keep-running", action="store_true",
                      help="with --no-lab: leave the deployment running")
    demo.add_argument("--reset", action="store_true",
                      help="make a finished demo workspace again from scratch")
    demo.add_argument("--port", type=int, default=None, help="JupyterLab port")
    demo.set_defaults(func=cmd_demo)
    openapi = sub.add_parser("openapi", help="print the REST API's OpenAPI document")
    openapi.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    openapi.set_defaults(func=cmd_openapi)
    from .datasets_cli import add_datasets_commands
    from .deploy_cli import add_deploy_commands
    from .notify_cli import add_notify_commands
    from .pipeline_cli import add_pipeline_commands
    from .registry_cli import add_registry_commands

    add_datasets_commands(sub, with_workspace)
    add_deploy_commands(sub, with_workspace)
    add_pipeline_commands(sub, with_workspace)
    add_registry_commands(sub, with_workspace)
    add_notify_commands(sub, with_workspace)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # MLflow logs its schema migrations at INFO; in a terminal they drown our own output
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # everything after a bare `--` goes to jupyter lab untouched
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:len(argv) - len(extra) - (1 if extra or "--" in argv else 0)])
    args.lab_args = extra
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except BackendUnavailable as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 3
    except MLOpsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
