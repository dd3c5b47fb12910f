"""`jupyter mlops …`: the terminal surface (the `jupyter-mlops` console script).

Exit codes: 0 success, 1 a user error (message on stderr, no traceback),
2 a usage error (argparse), 3 a backend that does not answer, 4 a pipeline run
that failed or was cancelled, 130 interrupted.
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
    from tqdm import tqdm

    from .demo import STEPS, create_demo

    with tqdm(total=len(STEPS), desc="demo", unit="step", file=sys.stderr) as bar:
        def progress(index: int, title: str) -> None:
            bar.update(index - bar.n)
            bar.set_postfix_str(title)

        result = create_demo(args.path, progress=progress)
        bar.update(bar.total - bar.n)
    for line in result.lines:
        print(f"  {line}")
    print(f"Demo workspace ready: {result.workspace.root}")
    if not args.lab:
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
    demo = sub.add_parser("demo", help="create a demo workspace and open JupyterLab on it")
    demo.add_argument("path", nargs="?", default="mlops-demo", help="folder (default: mlops-demo)")
    demo.add_argument("--no-lab", dest="lab", action="store_false",
                      help="create the workspace only")
    demo.add_argument("--port", type=int, default=None, help="JupyterLab port")
    demo.set_defaults(func=cmd_demo)
    openapi = sub.add_parser("openapi", help="print the REST API's OpenAPI document")
    openapi.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    openapi.set_defaults(func=cmd_openapi)
    from .pipeline_cli import add_pipeline_commands

    add_pipeline_commands(sub, with_workspace)
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
