"""The champion/challenger gate: score two versions on one held-out dataset version.

    gate("churn", challenger="challenger", against="champion",
         dataset="holdout@v3",
         metrics={"f1": {"min_delta": 0.01}, "roc_auc": {"min": 0.7}},
         promote=True)

Rules per metric (any combination):

- `min` / `max`: absolute bounds on the challenger's score;
- `min_delta`: the challenger must beat the champion by at least this much,
  in the metric's better direction (negative: a tolerated regression);
- `min_relative`: the same as a fraction of the champion's score (0.02 = 2 %);
- `higher_is_better`: overrides the metric's direction (custom metrics: True).

A metric named with no rule must simply be no worse than the champion
(`min_delta: 0`). Without `metrics`, classification gates on F1 and regression
on RMSE that way. Rules against the champion are skipped, and said so, when
there is no champion yet; then the first passing challenger becomes the
champion (the alias named by `against`), so the loop can start.

Built-in metrics: accuracy, balanced_accuracy, f1, precision, recall,
roc_auc, log_loss (classification); rmse, mse, mae, r2, mape (regression).
`custom_metrics={"profit": fn}` adds `fn(y_true, y_pred)` (it also gets
`y_score=` when it takes that parameter: the positive class's probability
for a binary task, the probability matrix otherwise).

Every gate is recorded (`registry_gate_results` and a `registry.gate` event)
with both versions, the dataset's full content hash, the metric rules, both
scores and the decision; a promotion it makes is recorded in the alias
history with `via="gate"` and the gate's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ..db.models import utcnow
from ..db.registry_models import GateResultRow
from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from ..workspace import Workspace
from ._common import (
    ModelRef,
    as_version_number,
    client_of,
    resolve_workspace,
    validate_alias,
    validate_model_name,
)
from ._data import dataset_ref, read_frame, resolve_dataset_version
# the parts live in their own modules; re-exported: this is the public door
from .metrics import BUILTIN_METRICS, DEFAULT_METRICS, REPORTED, TASKS, MetricSpec  # noqa: F401
from .results import GateResult, MetricCheck, _result
from .rules import EPS, OPTIONS, RULES, _check, _higher_is_better, normalize_metrics  # noqa: F401
from .scoring import _detect_task, _guess_target, _load, _Loaded, _score  # noqa: F401


def _resolve_side(ws: Workspace, name: str, which: Any, *, optional: bool) -> tuple[Any, str]:
    from .models import ModelVersion, fetch_version

    if isinstance(which, ModelVersion):
        if which.name != name:
            raise InvalidInput(f"{which} is not a version of {name!r}.")
        which = which.version
    number = as_version_number(which)
    if number is not None:
        return fetch_version(ws, ModelRef(name, version=number)), f"v{number}"
    if not isinstance(which, str):
        raise InvalidInput(f"Expected a version number or an alias, got {which!r}.")
    alias = validate_alias(which)
    return fetch_version(ws, ModelRef(name, alias=alias), missing_alias_ok=optional), alias


def gate(name: str, challenger: Any = "challenger", against: Any = "champion",
         dataset: Any = None, metrics: Any = None, *, target: str | None = None,
         promote: bool = False, custom_metrics: dict[str, Callable[..., float]] | None = None,
         task: str | None = None, pos_label: Any = None, alias: str | None = None,
         reason: str | None = None, workspace: Workspace | None = None) -> GateResult:
    """Score `challenger` and `against` on one held-out dataset version; decide; record.

    `challenger` / `against` are aliases or version numbers. `dataset` is
    `"name@version"` (a tag, a hash prefix or `latest`) or a DatasetVersion.
    With `promote=True` a passing challenger is moved to `alias` (default: the
    `against` alias, else `champion`); with no champion yet, a passing
    challenger becomes it regardless. The result is recorded either way.
    """
    from .aliases import move_alias

    ws = resolve_workspace(workspace)
    validate_model_name(name)
    if dataset is None:
        raise InvalidInput("A gate needs a held-out dataset version: dataset='holdout@v3'.")
    if task is not None and task not in TASKS:
        raise InvalidInput(f"task must be one of {', '.join(TASKS)}, got {task!r}.")
    custom = dict(custom_metrics or {})
    for key, fn in custom.items():
        if not callable(fn):
            raise InvalidInput(f"Custom metric {key!r} must be a function "
                               "fn(y_true, y_pred) -> float.")
    if alias is not None:
        validate_alias(alias)
    challenger_mv, challenger_ref = _resolve_side(ws, name, challenger, optional=False)
    champion_mv, champion_ref = _resolve_side(ws, name, against, optional=True)
    against_is_alias = as_version_number(against) is None and not hasattr(against, "version")
    if champion_mv is not None and int(champion_mv.version) == int(challenger_mv.version):
        raise InvalidInput(f"The challenger ({challenger_ref}) and {champion_ref} are the same "
                           f"version, v{challenger_mv.version}: nothing to compare.")
    version = resolve_dataset_version(dataset, ws)
    frame = read_frame(version, ws)
    ds_label = f"{version.name}@{version.short}"

    loaded_challenger = _load(ws, name, challenger_mv, challenger_ref)
    loaded_champion = (_load(ws, name, champion_mv, champion_ref)
                       if champion_mv is not None else None)
    columns = [str(c) for c in frame.columns]
    label = target
    if label is not None and label not in columns:
        raise InvalidInput(f"The label column {label!r} is not in {ds_label}; columns: "
                           f"{', '.join(columns)}.", details={"columns": columns})
    if label is None:
        label = _guess_target(columns, loaded_challenger.inputs)
    for loaded in (loaded_challenger, loaded_champion):
        if loaded is None or loaded.inputs is None:
            continue
        missing = [c for c in loaded.inputs if c not in columns]
        if missing:
            raise InvalidInput(
                f"Dataset {ds_label} lacks input column(s) of {name} v{loaded.version} "
                f"({loaded.ref}): {', '.join(missing)}.",
                details={"missing": missing, "dataset": dataset_ref(version),
                         "model": name, "version": loaded.version})
    data = frame[frame[label].notna()]
    if len(data) == 0:
        raise InvalidInput(f"Dataset {ds_label} has no rows with a label in {label!r}.")
    y = data[label]
    natives = [loaded_challenger.native, loaded_champion.native if loaded_champion else None]
    task = task or _detect_task(y, natives)
    spec = normalize_metrics(metrics, task, custom)
    # custom metrics without rules are scored and shown, like the built-in reported ones
    reported = [m for m in (*REPORTED[task], *custom) if m not in spec]

    def features(loaded: _Loaded) -> Any:
        return data[loaded.inputs] if loaded.inputs is not None else data.drop(columns=[label])

    y_values = y.to_numpy()
    scores = {"challenger": _score(loaded_challenger, name, features(loaded_challenger),
                                   y_values, task, list(spec), reported, custom, pos_label),
              "champion": None}
    if loaded_champion is not None:
        scores["champion"] = _score(loaded_champion, name, features(loaded_champion), y_values,
                                    task, list(spec), reported, custom, pos_label)
    champion_label = f"v{loaded_champion.version}" if loaded_champion is not None else None
    checks: list[MetricCheck] = []
    for metric, rules in spec.items():
        checks += _check(metric, rules, scores["challenger"].get(metric),
                         (scores["champion"] or {}).get(metric) if scores["champion"] else None,
                         champion_label)
    failed = [c for c in checks if c.passed is False]
    passed = not failed
    first_champion = champion_mv is None and against_is_alias
    reasons = [c.message for c in failed] if failed else [
        c.message for c in checks if c.passed]
    if first_champion:
        reasons.append(f"no @{champion_ref} yet: only absolute rules apply"
                       + ("" if any(c.rule in ("min", "max") for c in checks)
                          else " (none were set)"))
    target_alias = alias or (champion_ref if against_is_alias else "champion")
    do_promote = passed and (promote or first_champion)

    actor = current_actor()
    config = {m: dict(r) for m, r in spec.items()}
    with ws.session() as session:
        row = GateResultRow(
            model=name, challenger_version=int(challenger_mv.version),
            champion_version=int(champion_mv.version) if champion_mv is not None else None,
            challenger_ref=challenger_ref, champion_ref=champion_ref,
            dataset=dataset_ref(version), target=label, task=task, rows=int(len(data)),
            metrics_config=config, scores=scores, checks=[c.to_dict() for c in checks],
            passed=passed, reasons=reasons, promoted=False, promoted_alias=None, actor=actor,
            ts=utcnow())
        session.add(row)
        session.flush()
        gate_id = row.id
    try:
        if do_promote:
            why = f"gate #{gate_id} passed on {ds_label}" + (f": {reason}" if reason else "")
            if first_champion and not promote:
                why += " (first champion)"
            move_alias(ws, name, target_alias, int(challenger_mv.version), via="gate",
                       reason=why, gate_id=gate_id)
            with ws.session() as session:
                stored = session.get(GateResultRow, gate_id)
                stored.promoted, stored.promoted_alias = True, target_alias
    finally:
        with ws.session() as session:
            result = _result(session.get(GateResultRow, gate_id))
        result.first_champion = first_champion
        record_event(ws, "registry.gate",
                     f"{name}: v{result.challenger} vs "
                     f"{'v' + str(result.champion) if result.champion else 'no champion'} on "
                     f"{ds_label}: {result.verdict()}", subject=name,
                     data=result.to_dict(), actor=actor)
        _tag_version(ws, name, int(challenger_mv.version), result)
    return result


def _tag_version(ws: Workspace, name: str, version: int, result: GateResult) -> None:
    """The last gate's verdict on the version itself, for people reading MLflow's UI."""
    try:
        client_of(ws).set_model_version_tag(
            name, str(version), "mlops.gate",
            f"#{result.id} {'passed' if result.passed else 'rejected'} on {result.dataset}")
    except Exception:
        pass


def list_gate_results(name: str | None = None, *, limit: int = 50,
                      workspace: Workspace | None = None) -> list[GateResult]:
    """Recorded gate decisions, newest first (of one model, or of all)."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit}.")
    ws = resolve_workspace(workspace)
    query = select(GateResultRow).order_by(GateResultRow.id.desc()).limit(limit)
    if name is not None:
        validate_model_name(name)
        query = query.where(GateResultRow.model == name)
    with ws.session() as session:
        return [_result(row) for row in session.scalars(query)]


def get_gate_result(gate_id: int, *, workspace: Workspace | None = None) -> GateResult:
    ws = resolve_workspace(workspace)
    with ws.session() as session:
        row = session.get(GateResultRow, int(gate_id))
        if row is None:
            last = session.scalar(select(GateResultRow.id).order_by(GateResultRow.id.desc()))
            raise NotFound(f"Gate result #{gate_id} not found"
                           + (f"; the latest is #{last}." if last else "; no gate has run yet."),
                           details={"gate_id": gate_id, "latest": last})
        return _result(row)


__all__ = ["BUILTIN_METRICS", "GateResult", "MetricCheck", "gate", "get_gate_result",
           "list_gate_results", "normalize_metrics"]
