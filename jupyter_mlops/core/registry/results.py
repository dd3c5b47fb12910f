"""A gate's recorded decision: the checks, both scores, the verdict, and how it renders
(the plain-text table `%%gate` prints, the HTML a cell shows)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..db.models import utcnow
from ..db.registry_models import GateResultRow
from .metrics import _finite


@dataclass
class MetricCheck:
    """One rule applied to one metric: `passed` None means skipped (no champion)."""

    metric: str
    rule: str
    threshold: float
    challenger: float | None
    champion: float | None
    compared: float | None  # the challenger's score, or its improvement over the champion
    passed: bool | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "rule": self.rule, "threshold": self.threshold,
                "challenger": _finite(self.challenger), "champion": _finite(self.champion),
                "compared": _finite(self.compared), "passed": self.passed,
                "message": self.message}


@dataclass
class GateResult:
    """The decision of one gate, as recorded."""

    id: int
    name: str
    challenger: int
    champion: int | None
    challenger_ref: str
    champion_ref: str | None
    dataset: str
    target: str | None
    task: str
    rows: int | None
    metrics: dict[str, Any]
    scores: dict[str, Any]
    checks: list[MetricCheck]
    passed: bool
    reasons: list[str]
    promoted: bool
    promoted_alias: str | None
    actor: str | None
    ts: datetime
    first_champion: bool = field(default=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "challenger": self.challenger,
                "champion": self.champion, "challenger_ref": self.challenger_ref,
                "champion_ref": self.champion_ref, "dataset": self.dataset,
                "target": self.target, "task": self.task, "rows": self.rows,
                "metrics": self.metrics, "scores": self.scores,
                "checks": [c.to_dict() for c in self.checks], "passed": self.passed,
                "reasons": list(self.reasons), "promoted": self.promoted,
                "promoted_alias": self.promoted_alias, "actor": self.actor,
                "ts": self.ts.isoformat(), "first_champion": self.first_champion}

    # -- rendering --------------------------------------------------------------------------
    def _rows(self) -> list[list[str]]:
        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:.4f}"

        rows = []
        for check in self.checks:
            rule = f"{check.rule} {check.threshold:g}"
            result = "SKIP" if check.passed is None else "PASS" if check.passed else "FAIL"
            delta = ("—" if check.challenger is None or check.champion is None
                     else f"{check.challenger - check.champion:+.4f}")
            rows.append([check.metric, fmt(check.challenger), fmt(check.champion), delta, rule,
                         result])
        checked = {c.metric for c in self.checks}
        champion_scores = self.scores.get("champion") or {}
        for metric, value in sorted((self.scores.get("challenger") or {}).items()):
            if metric in checked:
                continue
            other = champion_scores.get(metric)
            delta = "—" if value is None or other is None else f"{value - other:+.4f}"
            rows.append([metric, fmt(value), fmt(other), delta, "(reported)", ""])
        return rows

    def headline(self) -> str:
        versus = (f"v{self.champion} ({self.champion_ref})" if self.champion is not None
                  else f"no {self.champion_ref or 'champion'} yet")
        rows = f"{self.rows:,} rows" if self.rows is not None else "rows ?"
        short = self.dataset.split("@")[0] + "@" + self.dataset.split("@")[-1][:12]
        return (f"gate #{self.id} {self.name}: v{self.challenger} ({self.challenger_ref}) vs "
                f"{versus} on {short} ({rows}, target {self.target or '—'}, {self.task})")

    def verdict(self) -> str:
        word = "PASSED" if self.passed else "REJECTED"
        if self.promoted:
            return f"{word}: v{self.challenger} promoted to @{self.promoted_alias}"
        return word

    def table(self) -> str:
        """A plain-text pass/fail table (what `%%gate` prints)."""
        head = ["metric", "challenger", "champion", "delta", "rule", "result"]
        rows = self._rows()
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [self.headline(),
                 "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(self.verdict())
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        esc = html.escape
        head = ["metric", "challenger", "champion", "delta", "rule", "result"]
        body = []
        for row in self._rows():
            colour = {"PASS": "var(--jp-success-color1, #2e7d32)",
                      "FAIL": "var(--jp-error-color1, #c62828)"}.get(row[-1], "inherit")
            cells = "".join(f"<td>{esc(c)}</td>" for c in row[:-1])
            body.append(f"<tr>{cells}<td style='color:{colour};font-weight:600'>"
                        f"{esc(row[-1])}</td></tr>")
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.reasons)
        state = "jp-mlops-gate-passed" if self.passed else "jp-mlops-gate-rejected"
        return (f'<div class="jp-mlops-gate {state}" data-mlops-gate-id="{self.id}">'
                f"<div>{esc(self.headline())}</div>"
                f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
                f"<div><b>{esc(self.verdict())}</b></div><ul>{reasons}</ul></div>")


def _result(row: GateResultRow) -> GateResult:
    ts = row.ts if row.ts.tzinfo is not None else row.ts.replace(tzinfo=utcnow().tzinfo)
    checks = [MetricCheck(**{k: c.get(k) for k in (
        "metric", "rule", "threshold", "challenger", "champion", "compared", "passed",
        "message")}) for c in row.checks]
    return GateResult(
        id=row.id, name=row.model, challenger=row.challenger_version,
        champion=row.champion_version, challenger_ref=row.challenger_ref,
        champion_ref=row.champion_ref, dataset=row.dataset, target=row.target, task=row.task,
        rows=row.rows, metrics=row.metrics_config, scores=row.scores, checks=checks,
        passed=row.passed, reasons=list(row.reasons), promoted=row.promoted,
        promoted_alias=row.promoted_alias, actor=row.actor, ts=ts,
        first_champion=row.champion_version is None)
