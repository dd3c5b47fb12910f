"""The history of drift checks kept in the state DB (table ``drift_checks``).

Every check that compares a dataset version is recorded (``drift()`` does it
by default, the REST route always), so the Drift panel and a monitor can ask
"how has ``sales`` drifted over its versions?" without recomputing anything.
A check stores what was compared (labels, dataset names and full version
hashes as text, so it outlives deleted versions), the options, the headline
numbers and the full report JSON, from which figures and the HTML export are
redrawn on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import undefer

from ..db.drift_models import DriftCheckRow
from ..errors import InvalidInput, NotFound
from ..events import record_event
from ..identity import current_actor
from .report import DriftReport

#: provenance keys ``sources.compare_sources`` puts in ``report.options``
_PROVENANCE = ("reference", "reference_dataset", "reference_version",
               "current", "current_dataset", "current_version")


@dataclass
class DriftCheck:
    """One recorded check; ``report`` is loaded only by ``get_check``."""

    id: int
    created: datetime
    actor: str | None
    origin: str
    reference: str
    reference_dataset: str | None
    reference_version: str | None
    current: str
    current_dataset: str | None
    current_version: str | None
    drifted: bool
    share: float | None
    drift_share: float
    n_drifted: int
    n_evaluated: int
    n_columns: int
    drifted_columns: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    report_data: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def report(self) -> DriftReport:
        if self.report_data is None:
            raise NotFound(f"Drift check {self.id} was listed without its report; "
                           "use get_check(id).")
        return DriftReport.from_dict(self.report_data)

    def to_dict(self, *, report: bool = False) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in (
            "id", "actor", "origin", *_PROVENANCE, "drifted", "share", "drift_share",
            "n_drifted", "n_evaluated", "n_columns", "drifted_columns", "options")}
        out["created"] = self.created.isoformat()
        if report:
            out["report"] = self.report_data
        return out

    def _repr_html_(self) -> str:
        return self.report._repr_html_() if self.report_data is not None else repr(self)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _to_check(row: DriftCheckRow, with_report: bool) -> DriftCheck:
    return DriftCheck(
        id=row.id, created=_aware(row.created), actor=row.actor, origin=row.origin,
        reference=row.reference, reference_dataset=row.reference_dataset,
        reference_version=row.reference_version, current=row.current,
        current_dataset=row.current_dataset, current_version=row.current_version,
        drifted=bool(row.drifted), share=row.share, drift_share=row.drift_share,
        n_drifted=row.n_drifted, n_evaluated=row.n_evaluated, n_columns=row.n_columns,
        drifted_columns=list(row.drifted_columns or []), options=dict(row.options or {}),
        report_data=row.report if with_report else None)


def _workspace(workspace: Any) -> Any:
    from ..datasets.runtime import resolve_workspace

    return resolve_workspace(workspace)


def record_check(report: DriftReport, workspace: Any = None, *, origin: str = "python",
                 actor: str | None = None) -> DriftCheck:
    """Store ``report`` as a new check and note it in the activity log."""
    ws = _workspace(workspace)
    data = report.to_dict()
    options = {k: v for k, v in data["options"].items() if k not in _PROVENANCE}
    given = data["options"]
    row = DriftCheckRow(
        actor=actor or current_actor(), origin=origin[:32],
        reference=str(given.get("reference") or "DataFrame")[:300],
        reference_dataset=given.get("reference_dataset"),
        reference_version=given.get("reference_version"),
        current=str(given.get("current") or "DataFrame")[:300],
        current_dataset=given.get("current_dataset"),
        current_version=given.get("current_version"),
        drifted=bool(report.drifted), share=report.share, drift_share=report.drift_share,
        n_drifted=report.n_drifted, n_evaluated=report.n_evaluated,
        n_columns=len(report.columns),
        drifted_columns=[c.name for c in report.columns if c.drifted is True],
        options=options, report=data)
    with ws.session() as session:
        session.add(row)
        session.flush()
        check = _to_check(row, with_report=True)
    record_event(ws, "drift.check", f"{check.reference} → {check.current}: {report.headline()}",
                 subject=check.reference_dataset or check.current_dataset,
                 data={"check_id": check.id, "drifted": check.drifted, "share": check.share},
                 actor=check.actor)
    return check


def list_checks(dataset: str | None = None, *, limit: int = 50, before_id: int | None = None,
                workspace: Any = None) -> list[DriftCheck]:
    """Newest first; ``dataset`` keeps checks where it is the reference or the current side."""
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit!r}")
    ws = _workspace(workspace)
    query = select(DriftCheckRow).order_by(DriftCheckRow.id.desc()).limit(int(limit))
    if dataset:
        query = query.where(or_(DriftCheckRow.reference_dataset == dataset,
                                DriftCheckRow.current_dataset == dataset))
    if before_id is not None:
        query = query.where(DriftCheckRow.id < int(before_id))
    with ws.session() as session:
        return [_to_check(row, with_report=False) for row in session.scalars(query)]


def get_check(check_id: int, workspace: Any = None) -> DriftCheck:
    """One check with its report; ``NotFound`` names the newest ids that exist."""
    ws = _workspace(workspace)
    with ws.session() as session:
        row = session.scalar(select(DriftCheckRow).options(undefer(DriftCheckRow.report))
                             .where(DriftCheckRow.id == int(check_id)))
        if row is None:
            recent = session.scalars(select(DriftCheckRow.id)
                                     .order_by(DriftCheckRow.id.desc()).limit(10)).all()
            known = ", ".join(map(str, recent)) if recent else "none yet"
            raise NotFound(f"No drift check {check_id}. Recent checks: {known}.",
                           details={"id": check_id, "recent": list(recent)})
        return _to_check(row, with_report=True)
