"""What a monitor compares the production window with.

`reference=None` means "the data the model now serving was trained on": the
deployment's stable version is walked back through lineage (model version →
run → the run's dataset inputs) and the input logged in the `training`
context is taken. It is resolved at every check, not once: after a retrained
challenger is promoted, the monitor compares with *its* training data without
anyone editing the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace


@dataclass(frozen=True)
class ResolvedReference:
    """A dataset version (`ref` = `name@<full hash>`) and how it was found."""

    ref: str
    name: str
    version: str
    via: str  # "given" or "lineage:<model>/<version>"
    columns: list[str] | None


def stable_version(ws: Workspace, deployment: str) -> tuple[str, str, str | None]:
    """(model, version, run id) of the deployment's stable version."""
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

    with ws.session() as session:
        row = session.execute(
            select(DeploymentVersionRow.model_name, DeploymentVersionRow.model_version,
                   DeploymentVersionRow.run_id)
            .join(DeploymentRow, DeploymentRow.id == DeploymentVersionRow.deployment_id)
            .where(DeploymentRow.name == deployment, DeploymentVersionRow.role == "stable")
            .order_by(DeploymentVersionRow.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"Deployment {deployment!r} has no stable model version; deploy one first.",
                       details={"deployment": deployment})
    return str(row[0]), str(row[1]), row[2]


def _schema_columns(version: Any) -> list[str] | None:
    return [str(c["name"]) for c in version.schema] if version.schema else None


def from_lineage(ws: Workspace, deployment: str) -> ResolvedReference:
    """The training dataset of the deployment's stable model, through `registry.lineage`."""
    from ..datasets import get_version
    from ..registry.lineage import lineage

    model, version, _run = stable_version(ws, deployment)
    graph = lineage(f"{model}/{version}", workspace=ws)
    inputs = [n for n in graph.by_kind("dataset_version")
              if n.data.get("version") and n.data.get("name")]
    if not inputs:
        raise InvalidInput(
            f"The model serving {deployment!r} ({model} v{version}) has no dataset input in its "
            "lineage, so the monitor cannot tell what it was trained on. Give the reference "
            "explicitly (reference='name@version'), or train inside a run that loads a "
            "snapshotted dataset.", details={"deployment": deployment, "model": model,
                                              "version": version})
    present = [n for n in inputs if not n.missing] or inputs
    training = [n for n in present if n.data.get("context") == "training"] or present
    node = training[0]
    name, digest = str(node.data["name"]), str(node.data["version"])
    try:
        found = get_version(name, digest, workspace=ws)
    except MLOpsError as exc:
        raise NotFound(f"The training data of {model} v{version} ({name}@{digest[:12]}) is not "
                       f"in the catalogue any more: {exc.message}") from exc
    return ResolvedReference(f"{name}@{found.version}", name, found.version,
                             f"lineage:{model}/{version}", _schema_columns(found))


def given(ws: Workspace, reference: str) -> ResolvedReference:
    """A dataset version given as `name@version` (a tag, a hash prefix) or `name` (latest)."""
    from ..datasets import get_version

    if not isinstance(reference, str) or not reference.strip():
        raise InvalidInput(f"reference is a dataset version 'name@version', got {reference!r}.")
    name, _, ref = reference.strip().partition("@")
    found = get_version(name, ref or "latest", workspace=ws)
    if found.kind == "folder":
        raise InvalidInput(f"reference {reference!r} is a folder; a monitor compares tables.")
    return ResolvedReference(f"{name}@{found.version}", name, found.version, "given",
                             _schema_columns(found))


def resolve_reference(ws: Workspace, deployment: str, reference: str | None) -> ResolvedReference:
    return given(ws, reference) if reference else from_lineage(ws, deployment)
