"""The `mlops` server extension: configuration, the workspace, the handler table."""

from __future__ import annotations

import os
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Unicode, default

from ..core.workspace import ENV_MLFLOW_TRACKING_URI, ENV_TRACKING_URI, Workspace
from .base import WORKSPACE_SETTING
from .routes import PREFIX, ROUTES


class MLOps(ExtensionApp):
    """Configure with `c.MLOps.<trait>` in a Jupyter server config file or on the command line."""

    name = "mlops"
    # the server extension is loaded by ServerApp; `jupyter mlops` is our own CLI
    load_other_extensions = True

    workspace_dir = Unicode(
        "", config=True,
        help="Folder holding the workspace's .mlops/ state. Default: the server's root_dir.",
    )
    db_url = Unicode(
        "", config=True,
        help="SQLAlchemy URL of the state DB. Default: sqlite under <workspace>/.mlops/state.db."
             " A postgresql:// URL lets several servers share state.",
    )
    tracking_uri = Unicode(
        config=True,
        help="MLflow tracking (and registry) URI. Default: $MLFLOW_TRACKING_URI, else a SQLite "
             "store under <workspace>/.mlops/mlflow.db.",
    )
    artifact_root = Unicode(
        "", config=True,
        help="Artifact root for experiments the workbench creates. Default: <workspace>/.mlops/artifacts.",
    )

    run_scheduler = Bool(
        True, config=True,
        help="Run the pipeline scheduler (schedules, triggers, reconciling dead runs) inside "
             "the server. Turn off when a headless `jupyter mlops scheduler` does it.",
    )
    reconcile_deployments = Bool(
        True, config=True,
        help="At start, re-attach running deployments and restart those whose processes died.",
    )
    run_monitors = Bool(
        True, config=True,
        help="Run the drift monitors of deployments inside the server.",
    )
    run_notifications = Bool(
        True, config=True,
        help="Post new events of the activity log to the workspace's webhooks from the server. "
             "Turn off when a headless `jupyter mlops scheduler` delivers them.",
    )

    @default("tracking_uri")
    def _default_tracking_uri(self) -> str:
        return os.environ.get(ENV_TRACKING_URI) or os.environ.get(ENV_MLFLOW_TRACKING_URI, "")

    def resolve_workspace(self) -> Workspace:
        root = self.workspace_dir or self.serverapp.root_dir
        return Workspace.resolve(
            root,
            db_url=self.db_url or None,
            tracking_uri=self.tracking_uri or None,
            artifact_root=self.artifact_root or None,
        )

    def initialize_settings(self) -> None:
        workspace = self.resolve_workspace()
        # kernels and pipeline steps started by this server inherit the environment,
        # which is how `import jupyter_mlops` in a notebook finds this same workspace
        workspace.export_environ()
        self.settings.update({WORKSPACE_SETTING: workspace, "mlops_routes": ROUTES, "mlops_app": self})
        from .background import start_all

        self._background = start_all(self, workspace)
        self.log.info("jupyter-mlops workspace: %s (state %s, tracking %s)",
                      workspace.root, workspace.info()["state_db"],
                      workspace.info()["tracking_uri"])

    def initialize_handlers(self) -> None:
        # ExtensionApp prepends the server's base_url to these patterns
        self.handlers.extend(
            (url_path_join("/", PREFIX, route.pattern), route.handler) for route in ROUTES
        )

    async def stop_extension(self) -> None:
        from .background import stop_all

        await stop_all(self, getattr(self, "_background", []))
        workspace: Workspace | None = self.settings.get(WORKSPACE_SETTING)
        if workspace is not None:
            workspace.close()
