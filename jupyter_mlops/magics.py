"""IPython magics: `%mlops <command>` in a notebook cell.

Errors a user can fix are shown as one line (IPython's UsageError), never as
a traceback into our internals.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from . import __version__, workspace
from .core.errors import MLOpsError
from .render import health_lines, key_values

HELP = """Usage: %mlops <command>
  info     where this notebook's workspace keeps its state
  health   whether the state DB and the MLflow store answer
  version  the installed jupyter-mlops version
  runs     [--experiment E] [--filter F] [--limit N]  a sortable table of runs

Also: %%track [--experiment E] [--name N] [--log a,b], %snapshot, %datasets, %drift,
      %register RUN NAME [--alias A], %gate / %%gate NAME --dataset D --metric M, %models,
      %pipeline run|validate|runs|cancel, %mlops_output NAME VALUE"""


@magics_class
class MLOpsMagics(Magics):
    """The `%mlops` line magic; capabilities add their subcommands here."""

    @line_magic
    def mlops(self, line: str) -> Any:
        args = shlex.split(line)
        command = args[0] if args else "help"
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise UsageError(f"Unknown %mlops command {command!r}.\n{HELP}")
        try:
            return handler(args[1:])
        except MLOpsError as exc:
            raise UsageError(exc.message) from None

    def _cmd_help(self, _args: list[str]) -> None:
        print(HELP)

    def _cmd_version(self, _args: list[str]) -> None:
        print(f"jupyter-mlops {__version__}")

    def _cmd_info(self, _args: list[str]) -> None:
        print(key_values(f"jupyter-mlops {__version__} workspace", workspace().info()))

    def _cmd_health(self, _args: list[str]) -> None:
        print(health_lines(workspace().health()))

    def _cmd_runs(self, args: list[str]) -> Any:
        from .tracking_magics import runs_command

        return runs_command(args)


def register(ipython: Any) -> None:
    from .dataset_magics import register_dataset_magics
    from .deploy_magics import register_deploy_magics
    from .drift_magics import register_drift_magics
    from .monitor_magics import register_monitor_magics
    from .pipeline_magics import register_pipeline_magics
    from .registry_magics import register_registry_magics
    from .tracking_magics import TrackingMagics

    ipython.register_magics(MLOpsMagics)
    ipython.register_magics(TrackingMagics)
    register_dataset_magics(ipython)
    register_deploy_magics(ipython)
    register_drift_magics(ipython)
    register_monitor_magics(ipython)
    register_pipeline_magics(ipython)
    register_registry_magics(ipython)
