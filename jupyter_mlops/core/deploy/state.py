"""A deployment's rows in the state DB, as the workbench reads and writes them.

The router process writes its live state (status, roles, weights, health
figures, a heartbeat) into the same rows; these helpers are the workbench's
side: create a deployment, read it back as plain dicts, change what the
user asked for, and append to its event history (and the activity log).
"""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import Conflict, InvalidInput, NotFound
from ..workspace import Workspace
from .references import ResolvedModel
from .strategies import StrategySpec, parse_strategy
from .supervisor import LIVE_ROLES, utcnow


def _row(ws: Workspace, name: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            return None
        data = {c.name: getattr(row, c.name) for c in DeploymentRow.__table__.columns}
        versions = session.scalars(select(DeploymentVersionRow)
                                   .where(DeploymentVersionRow.deployment_id == row.id)
                                   .order_by(DeploymentVersionRow.id)).all()
        data["versions"] = [{c.name: getattr(v, c.name)
                             for c in DeploymentVersionRow.__table__.columns} for v in versions]
    return data


def _update(ws: Workspace, name: str, **values: Any) -> None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            raise NotFound(f"No deployment named {name!r}.")
        for key, value in values.items():
            setattr(row, key, value)
        row.updated = utcnow()


def _record(ws: Workspace, name: str, what: str, message: str,
            data: dict[str, Any] | None = None) -> None:
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentEventRow, DeploymentRow
    from ..events import record_event
    from ..identity import current_actor

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        if row is not None:
            session.add(DeploymentEventRow(deployment_id=row.id, ts=utcnow(), kind=what,
                                           message=message, data=data,
                                           actor=current_actor()))
    record_event(ws, f"deploy.{what}", message, subject=name,
                 data={"deployment": name, **(data or {})})


def _set_stable(ws: Workspace, name: str, model: ResolvedModel, target: str) -> None:
    """A stopped deployment about to start with `model`: it is the only live version."""
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow

    with ws.session() as session:
        row = session.scalar(select(DeploymentRow).where(DeploymentRow.name == name))
        assert row is not None
        versions = session.scalars(select(DeploymentVersionRow)
                                   .where(DeploymentVersionRow.deployment_id == row.id)).all()
        kept = False
        for version in versions:
            if version.role == "stable" and version.key == model.key and not kept:
                kept = True  # the same version again: keep its row (and its history)
                version.weight = 100.0
            elif version.role in LIVE_ROLES:
                version.role, version.weight = "retired", 0.0
        row.rollout = None
        if kept:
            return
        session.add(DeploymentVersionRow(
            deployment_id=row.id, key=model.key, model_name=model.model_name,
            model_version=model.model_version, model_ref=model.model_ref,
            model_uri=model.model_uri, source=model.source, run_id=model.run_id, target=target,
            role="stable", weight=100.0, state="starting", healthy=False, created=utcnow()))



def _default_rollout(row: dict[str, Any]) -> StrategySpec:
    try:
        spec = parse_strategy(row.get("strategy") or "single")
    except InvalidInput:
        spec = StrategySpec()
    if spec.kind == "single":
        return parse_strategy("blue_green", auto_promote=True)
    return spec


def _create(ws: Workspace, name: str, model: ResolvedModel, target: str,
            target_options: dict[str, Any] | None, host: str, port: int,
            spec: StrategySpec | None) -> None:
    from sqlalchemy.exc import IntegrityError

    from ..db.deploy_models import DeploymentRow, DeploymentVersionRow
    from ..identity import current_actor

    now = utcnow()
    try:
        with ws.session() as session:
            row = DeploymentRow(name=name, target=target, target_options=target_options,
                                host=host, port=port, desired="running", status="starting",
                                strategy=(spec or StrategySpec()).to_dict(),
                                token=secrets.token_hex(16), created=now, updated=now,
                                actor=current_actor())
            session.add(row)
            session.flush()
            session.add(DeploymentVersionRow(
                deployment_id=row.id, key=model.key, model_name=model.model_name,
                model_version=model.model_version, model_ref=model.model_ref,
                model_uri=model.model_uri, source=model.source, run_id=model.run_id,
                target=target, role="stable", weight=100.0, state="starting", healthy=False,
                created=now))
    except IntegrityError:
        raise Conflict(f"A deployment named {name!r} already exists.") from None


def deployment_names(ws: Workspace) -> list[str]:
    """Every deployment's name, sorted (what a "no such deployment" message lists)."""
    from sqlalchemy import select

    from ..db.deploy_models import DeploymentRow

    with ws.session() as session:
        return sorted(session.scalars(select(DeploymentRow.name)).all())


def unknown_deployment(ws: Workspace, name: str) -> NotFound:
    """The NotFound for a name no deployment has, listing those that exist."""
    names = deployment_names(ws)
    known = ", ".join(names) if names else "none yet"
    return NotFound(f"No deployment named {name!r}. Deployments: {known}.",
                    details={"name": name, "deployments": names})
