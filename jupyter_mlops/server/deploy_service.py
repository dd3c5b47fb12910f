"""Re-attaching deployments when the server starts.

A deployment is a router process of its own (with its model servers), so it
outlives the server that started it: stopping the Jupyter server leaves the
deployments serving, on purpose — a notebook server restarted for an
upgrade must not take a model endpoint down, and `jupyter mlops`, a kernel
or another server can act on the same deployments through the state DB.
So `stop()` here only stops this reconciliation (it never stops a
deployment); stopping one is an explicit act (`Deployment.stop()`, the
panel's Stop, `POST /jupyter-mlops/deployments/<name>/stop`).

At start, `core.deploy.reconcile()` walks the deployments meant to run:
those whose router still answers are attached (nothing to do but note
it), those whose router is gone (a reboot, a killed process) are started
again on their own ports. It runs in a daemon thread and does not wait for
the routers it starts (they report to the state DB themselves), so the
server comes up at once whatever the number of deployments.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.workspace import Workspace


class DeploymentReconciler:
    """One pass of `reconcile()` in a background thread; `report` holds its outcome."""

    def __init__(self, app: Any, workspace: Workspace) -> None:
        self.app = app
        self.workspace = workspace
        self.report: list[dict[str, Any]] | None = None
        self.error: str | None = None
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlops-deploy-reconcile",
                                        daemon=True)

    def start(self) -> DeploymentReconciler:
        self._thread.start()
        return self

    def _run(self) -> None:
        from ..core.deploy import reconcile

        try:
            if self._stopping.is_set():
                return
            self.report = reconcile(workspace=self.workspace, wait=False)
            for entry in self.report:
                if entry["action"] == "failed":
                    self.app.log.warning("jupyter-mlops: deployment %s could not be restarted: "
                                         "%s", entry["deployment"], entry.get("error"))
                else:
                    self.app.log.info("jupyter-mlops: deployment %s %s (router pid %s)",
                                      entry["deployment"], entry["action"], entry.get("pid"))
        except Exception as exc:  # noqa: BLE001 - logged; the server keeps serving
            self.error = f"{type(exc).__name__}: {exc}"
            self.app.log.exception("jupyter-mlops: reconciling deployments failed")
        finally:
            self.done.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reconciling (deployments keep running: they are separate processes)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def reconcile_deployments(app: Any, workspace: Workspace) -> DeploymentReconciler | None:
    """Start re-attaching deployments in the background when `c.MLOps.reconcile_deployments`."""
    if not getattr(app, "reconcile_deployments", True):
        return None
    return DeploymentReconciler(app, workspace).start()
