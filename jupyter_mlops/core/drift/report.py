"""The drift report: per-column results, the dataset verdict, and their exports.

The report holds only small summaries (histogram edges and counts, category
counts), never the frames, so it can be serialised, stored and re-plotted
after the data is gone: ``DriftReport.from_dict(report.to_dict())`` rebuilds
an equivalent report, figures included.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # plotly stays unimported until a figure is asked for
    import pandas as pd
    import plotly.graph_objects as go


@dataclass
class Summary:
    """Plot-sized distribution of one column on both sides.

    ``kind="histogram"``: ``edges`` has one more entry than the counts
    (numbers; nanoseconds since the epoch for datetime columns).
    ``kind="categories"``: ``labels`` name the counts.
    """

    kind: str
    reference: list[int]
    current: list[int]
    edges: list[float] | None = None
    labels: list[str] | None = None


@dataclass
class ColumnDrift:
    """The outcome for one column.

    ``drifted`` is ``None`` when no verdict could be reached; ``reason`` then
    says why (and explains ``drifted=False`` for constant columns).
    ``statistic``/``p_value``/``threshold`` are ``None`` when not computed;
    ``p_value`` is always ``None`` for distance tests. ``n_reference`` and
    ``n_current`` count the values actually compared (missing and infinite
    values dropped); ``inf_*`` count the infinities dropped. ``summary`` feeds
    the plots; ``bins`` holds the reference-quantile bins a binned test used
    on a numeric column. ``approximate`` is true when the reference side came
    from a stored profile's quantile sketch rather than the values themselves
    (see ``sources``).
    """

    name: str
    kind: str
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    reason: str | None = None
    n_reference: int = 0
    n_current: int = 0
    nan_share_reference: float | None = None
    nan_share_current: float | None = None
    inf_reference: int = 0
    inf_current: int = 0
    unseen_categories: list[str] = field(default_factory=list)
    n_unseen: int = 0
    approximate: bool = False
    summary: Summary | None = None
    bins: Summary | None = None

    @property
    def score(self) -> float | None:
        """The number compared with ``threshold``: p-value for tests, else the statistic."""
        return self.p_value if self.p_value is not None else self.statistic

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnDrift:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("summary", "bins"):
            if values.get(key) is not None:
                values[key] = Summary(**values[key])
        return cls(**values)


#: ``to_frame()`` columns, in order.
FRAME_COLUMNS = (
    "column",
    "kind",
    "test",
    "statistic",
    "p_value",
    "threshold",
    "drifted",
    "reason",
    "n_reference",
    "n_current",
    "nan_share_reference",
    "nan_share_current",
    "inf_reference",
    "inf_current",
    "n_unseen",
    "unseen_categories",
    "approximate",
)


@dataclass
class DriftReport:
    """Per-column drift results and the dataset-level verdict derived from them."""

    columns: list[ColumnDrift]
    drift_share: float = 0.5
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_evaluated(self) -> int:
        """Columns that got a verdict (the denominator of ``share``)."""
        return sum(c.drifted is not None for c in self.columns)

    @property
    def n_drifted(self) -> int:
        return sum(c.drifted is True for c in self.columns)

    @property
    def share(self) -> float | None:
        """Share of drifted columns among evaluated ones; ``None`` if none was evaluated."""
        evaluated = self.n_evaluated
        return self.n_drifted / evaluated if evaluated else None

    @property
    def drifted(self) -> bool:
        share = self.share
        return share is not None and share >= self.drift_share

    def __getitem__(self, name: str) -> ColumnDrift:
        for column in self.columns:
            if column.name == str(name):
                return column
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.columns)

    # ------------------------------------------------------------- exports

    def to_frame(self) -> pd.DataFrame:
        """One row per column; ``drifted`` is a nullable boolean."""
        import pandas as pd

        rows = []
        for c in self.columns:
            row = asdict(c)
            row["column"] = row.pop("name")
            rows.append({k: row[k] for k in FRAME_COLUMNS})
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        for name in ("statistic", "p_value", "threshold"):
            frame[name] = frame[name].astype("float64")
        frame["drifted"] = frame["drifted"].astype("boolean")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: builtin types only, non-finite floats as ``None``."""
        return _json_safe(
            {
                "drifted": self.drifted,
                "share": self.share,
                "n_drifted": self.n_drifted,
                "n_evaluated": self.n_evaluated,
                "n_columns": len(self.columns),
                "drift_share": self.drift_share,
                "options": self.options,
                "columns": [asdict(c) for c in self.columns],
            }
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Rebuild a report from ``to_dict()`` output; derived fields are recomputed."""
        return cls(
            columns=[ColumnDrift.from_dict(c) for c in data.get("columns", [])],
            drift_share=float(data.get("drift_share", 0.5)),
            options=dict(data.get("options") or {}),
        )

    def headline(self) -> str:
        """One sentence a person reads first."""
        if not self.n_evaluated:
            return f"No column could be evaluated ({len(self.columns)} columns)."
        verdict = "Dataset drift detected" if self.drifted else "No dataset drift"
        return (
            f"{verdict}: {self.n_drifted} of {self.n_evaluated} evaluated columns drifted "
            f"({self.share:.0%}; threshold {self.drift_share:.0%})."
        )

    def figure(self, column: str | None = None) -> go.Figure:
        """Scores vs thresholds for all columns, or one column's two distributions."""
        from .render import column_figure, overview_figure

        return overview_figure(self) if column is None else column_figure(self[column])

    def _repr_html_(self) -> str:
        from .render import report_table_html

        return report_table_html(self)

    def save_html(self, path: str | Path, include_plotlyjs: bool | str = "inline") -> Path:
        """Write a standalone page; ``include_plotlyjs="inline"`` works offline."""
        from .render import report_page_html

        target = Path(path)
        target.write_text(report_page_html(self, include_plotlyjs), encoding="utf-8")
        return target

    def __repr__(self) -> str:
        return f"<DriftReport {self.headline()}>"


def _json_safe(value: Any) -> Any:
    """Recursively convert numpy scalars/arrays and non-finite floats for JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)
