"""Aliases with a history and with protection.

MLflow holds the current mapping (`models:/churn@champion` resolves through it
everywhere MLflow is used); every move made through the workbench is also
written to `registry_alias_history` (who, when, from which version to which,
why, and through which door) and to the activity log (`registry.alias`).

Protected aliases (per model; `champion` when nothing is configured) refuse
`set_alias`, `remove_alias` and `register_model(alias=...)`: they move only
through `promote(..., reason=...)` or a passing `gate(...)`, so production
never changes without a recorded reason. The rule's name, `protected-alias`,
is in the error's message and details.

A move is written to MLflow first, then to the history. If the history
cannot be written the MLflow alias is put back, so the two never disagree
about a move the workbench made. Two processes moving the same alias at the
same instant can both read the same "from" version; the history then shows
both moves in order, which is still the truth of what happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..db.models import utcnow
from ..db.registry_models import AliasHistoryRow, AliasPolicyRow
from ..errors import Conflict, InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from ._common import (
    ModelRef,
    client_of,
    mlflow_errors,
    resolve_workspace,
    short_list,
    validate_alias,
    validate_model_name,
)

DEFAULT_PROTECTED: tuple[str, ...] = ("champion",)
PROTECTED_RULE = "protected-alias"
REASON_RULE = "reason-required"
#: the doors through which an alias moves; only the first two may move a protected alias
VIAS = ("promote", "gate", "register", "set", "remove")
GOVERNED_VIAS = ("promote", "gate")
MAX_HISTORY = 1000


@dataclass(frozen=True)
class AliasMove:
    """One recorded move of an alias (`to_version` None: removed)."""

    id: int
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str | None
    reason: str | None
    ts: datetime
    via: str
    gate_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "alias": self.alias,
                "from_version": self.from_version, "to_version": self.to_version,
                "actor": self.actor, "reason": self.reason, "ts": self.ts.isoformat(),
                "via": self.via, "gate_id": self.gate_id}

    def summary(self) -> str:
        """`churn@champion: v1 → v2 via promote: better recall` (the activity log's line)."""
        frm = f"v{self.from_version}" if self.from_version is not None else "—"
        to = f"v{self.to_version}" if self.to_version is not None else "—"
        why = f": {self.reason}" if self.reason else ""
        return f"{self.model}@{self.alias}: {frm} → {to} via {self.via}{why}"

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.summary()} (by {self.actor or '?'})"


def _move(row: AliasHistoryRow) -> AliasMove:
    ts = row.ts if row.ts.tzinfo is not None else row.ts.replace(tzinfo=utcnow().tzinfo)
    return AliasMove(row.id, row.model, row.alias, row.from_version, row.to_version, row.actor,
                     row.reason, ts, row.via, row.gate_id)


# -- protection -----------------------------------------------------------------------------
def protected_aliases_map(ws: Workspace, names: Iterable[str]) -> dict[str, list[str]]:
    names = list(names)
    out = {n: list(DEFAULT_PROTECTED) for n in names}
    if not names:
        return out
    with ws.session() as session:
        for row in session.scalars(select(AliasPolicyRow).where(AliasPolicyRow.model.in_(names))):
            out[row.model] = list(row.protected)
    return out


def protected_aliases(name: str, *, workspace: Workspace | None = None) -> list[str]:
    """The aliases of `name` that move only through promote or a gate."""
    validate_model_name(name)
    ws = resolve_workspace(workspace)
    return protected_aliases_map(ws, [name])[name]


def _set_policy(ws: Workspace, name: str, protected: list[str], message: str,
                reason: str | None) -> list[str]:
    actor = current_actor()
    with ws.session() as session:
        row = session.get(AliasPolicyRow, name)
        if row is None:
            session.add(AliasPolicyRow(model=name, protected=protected, actor=actor,
                                       updated=utcnow()))
        else:
            row.protected, row.actor, row.updated = protected, actor, utcnow()
    record_event(ws, "registry.policy", message, subject=name,
                 data={"model": name, "protected": protected, "reason": reason}, actor=actor)
    return protected


def protect_alias(name: str, alias: str, *, workspace: Workspace | None = None) -> list[str]:
    """Protect `alias` of model `name` (the model need not exist yet); returns the new list."""
    validate_model_name(name)
    validate_alias(alias)
    ws = resolve_workspace(workspace)
    current = protected_aliases_map(ws, [name])[name]
    if alias in current:
        return current
    return _set_policy(ws, name, sorted({*current, alias}), f"Protected {name}@{alias}", None)


def unprotect_alias(name: str, alias: str, *, reason: str | None = None,
                    workspace: Workspace | None = None) -> list[str]:
    """Lift the protection of `alias` (a reason is required: it is an audit event)."""
    validate_model_name(name)
    validate_alias(alias)
    _require_reason(reason, f"unprotecting {name}@{alias}")
    ws = resolve_workspace(workspace)
    current = protected_aliases_map(ws, [name])[name]
    if alias not in current:
        return current
    return _set_policy(ws, name, [a for a in current if a != alias],
                       f"Unprotected {name}@{alias}: {reason}", reason)


def _require_reason(reason: Any, what: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"A reason is required for {what} (rule '{REASON_RULE}').",
                           details={"rule": REASON_RULE})
    return reason.strip()


def check_movable(ws: Workspace, name: str, alias: str, *, via: str) -> None:
    """Conflict, naming the rule, when `via` may not move `alias` of `name`."""
    if via in GOVERNED_VIAS:
        return
    if alias in protected_aliases_map(ws, [name])[name]:
        raise Conflict(
            f"Alias {alias!r} of model {name!r} is protected (rule '{PROTECTED_RULE}'): it moves "
            f"only through promote({name!r}, <version>, alias={alias!r}, reason=...) or a passing "
            f"gate, not through {via}. To allow ad-hoc moves, unprotect_alias({name!r}, "
            f"{alias!r}, reason=...).",
            details={"rule": PROTECTED_RULE, "model": name, "alias": alias, "via": via})


# -- moving ---------------------------------------------------------------------------------
def _current_version(ws: Workspace, client: Any, name: str, alias: str) -> int | None:
    with mlflow_errors(ws.tracking_uri):
        registered = client.get_registered_model(name)
    value = (registered.aliases or {}).get(alias)
    return int(value) if value is not None else None


def move_alias(ws: Workspace, name: str, alias: str, version: int | None, *, via: str,
               reason: str | None = None, gate_id: int | None = None) -> AliasMove | None:
    """Point `alias` at `version` (None removes it), enforcing protection and recording it.

    Returns the recorded move, or None when the alias already pointed there.
    """
    from .models import fetch_version, require_model

    if via not in VIAS:
        raise InvalidInput(f"Unknown alias move {via!r}; one of {', '.join(VIAS)}.")
    validate_model_name(name)
    validate_alias(alias)
    check_movable(ws, name, alias, via=via)
    client = client_of(ws)
    if version is not None:
        version = int(fetch_version(ws, ModelRef(name, version=int(version))).version)
    else:
        require_model(ws, name)  # the model must exist (404 lists the models)
    previous = _current_version(ws, client, name, alias)
    if previous == version:
        return None
    with mlflow_errors(ws.tracking_uri):
        if version is None:
            client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, str(version))
    actor = current_actor()
    try:
        with ws.session() as session:
            row = AliasHistoryRow(model=name, alias=alias, from_version=previous,
                                  to_version=version, actor=actor, reason=reason, ts=utcnow(),
                                  via=via, gate_id=gate_id)
            session.add(row)
            session.flush()
            move = _move(row)
    except BaseException:
        _restore(client, name, alias, previous)
        raise
    record_event(ws, "registry.alias", move.summary(), subject=name, data=move.to_dict(),
                 actor=actor)
    return move


def _restore(client: Any, name: str, alias: str, previous: int | None) -> None:
    try:
        if previous is None:
            client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, str(previous))
    except Exception:  # the history error is the one to report
        pass


def _version_of(ws: Workspace, name: str, version_or_alias: Any) -> int:
    from ._common import parse_model_ref
    from .models import ModelVersion, fetch_version

    if isinstance(version_or_alias, ModelVersion):
        if version_or_alias.name != name:
            raise InvalidInput(f"{version_or_alias} is a version of {version_or_alias.name!r}, "
                               f"not of {name!r}.")
        return version_or_alias.version
    return int(fetch_version(ws, parse_model_ref(name, version_or_alias)).version)


def set_alias(name: str, alias: str, version: Any, reason: str | None = None, *,
              workspace: Workspace | None = None) -> AliasMove | None:
    """Point `alias` at `version` (a number, or another alias to copy); refused for a
    protected alias (use `promote`). Returns the recorded move, None if nothing moved."""
    ws = resolve_workspace(workspace)
    validate_model_name(name)
    validate_alias(alias)
    check_movable(ws, name, alias, via="set")
    return move_alias(ws, name, alias, _version_of(ws, name, version), via="set", reason=reason)


def remove_alias(name: str, alias: str, reason: str | None = None, *,
                 workspace: Workspace | None = None) -> AliasMove | None:
    """Delete `alias` (recorded with `to_version` None); refused for a protected alias."""
    ws = resolve_workspace(workspace)
    return move_alias(ws, name, alias, None, via="remove", reason=reason)


def promote(name: str, version_or_alias: Any, alias: str = "champion",
            reason: str | None = None, *, workspace: Workspace | None = None) -> AliasMove | None:
    """Move `alias` (default `champion`) to a version, with a required reason.

    `version_or_alias` is a number (`3`), an alias (`"challenger"`) or a
    ModelVersion. The one way besides a passing gate to move a protected alias.
    """
    validate_model_name(name)
    validate_alias(alias)
    why = _require_reason(reason, f"promoting to {name}@{alias}")
    ws = resolve_workspace(workspace)
    return move_alias(ws, name, alias, _version_of(ws, name, version_or_alias), via="promote",
                      reason=why)


def alias_history(name: str, alias: str | None = None, *, limit: int = 200,
                  workspace: Workspace | None = None) -> list[AliasMove]:
    """Recorded moves of the aliases of `name` (or of one alias), newest first."""
    validate_model_name(name)
    if alias is not None:
        validate_alias(alias)
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidInput(f"limit must be between 1 and {MAX_HISTORY}, got {limit}.")
    ws = resolve_workspace(workspace)
    query = select(AliasHistoryRow).where(AliasHistoryRow.model == name)
    if alias is not None:
        query = query.where(AliasHistoryRow.alias == alias)
    query = query.order_by(AliasHistoryRow.id.desc()).limit(limit)
    with ws.session() as session:
        rows = [_move(r) for r in session.scalars(query)]
    if not rows:
        # an unknown model is a 404 with what exists; a known one simply has no moves yet
        from .models import require_model

        require_model(ws, name)
    return rows


def require_known_alias(name: str, alias: str, current: dict[str, int],
                        history: list[AliasMove], workspace: Workspace | None = None) -> None:
    """An alias the model neither has nor ever had is a typo: NotFound naming those it has had.

    `current` and `history` are what the caller already read (the alias's own moves), so
    a known alias costs no query.
    """
    if alias in current or history:
        return
    known = sorted({*current, *(m.alias for m in alias_history(name, workspace=workspace))})
    raise NotFound(f"Model {name!r} has no alias @{alias}, now or in its history. Aliases: "
                   f"{short_list([f'@{a}' for a in known])}.",
                   details={"model": name, "alias": alias, "aliases": current, "known": known})
