"""Concept drift: the model's performance per window, once labels are known.

Data drift says the inputs moved; only labels say whether the model got
worse. Given rows with the true label and the model's prediction (a
deployment's log joined with labels that arrived later, or a scored
hold-out), ``concept_drift`` cuts them into consecutive windows — equal row
counts, or calendar periods of a time column — scores each with one metric
and compares it with a reference score: the ``reference`` rows when given,
else the first window.

A window *degrades* when its score is worse than the reference by more than
``max_drop`` relative (default 10 %: accuracy 0.90 → below 0.81, RMSE 2.0 →
above 2.2); the report drifts when the last window degrades, because that
is the model serving now. Windows with fewer than ``min_rows`` rows get no
verdict rather than a noisy one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput

#: metric name → (function(y_true, y_pred), higher is better)
def _metrics() -> dict[str, tuple[Callable[[Any, Any], float], bool]]:
    from sklearn import metrics as M

    def rmse(y: Any, p: Any) -> float:
        return float(math.sqrt(M.mean_squared_error(y, p)))

    def f1(y: Any, p: Any) -> float:
        labels = pd.unique(pd.concat([pd.Series(y), pd.Series(p)]))
        average = "binary" if len(labels) <= 2 else "macro"
        pos = 1 if average == "binary" and 1 in set(labels) else None
        if average == "binary" and pos is None:
            average = "macro"
        return float(M.f1_score(y, p, average=average, pos_label=pos or 1, zero_division=0))

    return {
        "accuracy": (lambda y, p: float(M.accuracy_score(y, p)), True),
        "f1": (f1, True),
        "rmse": (rmse, False),
        "mae": (lambda y, p: float(M.mean_absolute_error(y, p)), False),
        "r2": (lambda y, p: float(M.r2_score(y, p)), True),
    }


METRICS = ("accuracy", "f1", "rmse", "mae", "r2")


@dataclass
class ConceptDriftReport:
    """Per-window scores against a reference score."""

    metric: str
    higher_is_better: bool
    reference_score: float
    max_drop: float
    windows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        judged = [w for w in self.windows if w["degraded"] is not None]
        return bool(judged and judged[-1]["degraded"])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.windows)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "higher_is_better": self.higher_is_better,
                "reference_score": self.reference_score, "max_drop": self.max_drop,
                "drifted": self.drifted, "windows": [
                    {k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in w.items()}
                    for w in self.windows]}

    def figure(self) -> Any:
        """The score per window with the reference and the degradation line."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        x = frame["window"].astype(str) if not frame.empty else []
        limit = self.reference_score * ((1 - self.max_drop) if self.higher_is_better
                                        else (1 + self.max_drop))
        colours = ["#d62728" if d else "#1f77b4" for d in frame.get("degraded", [])]
        fig = go.Figure(go.Scatter(x=x, y=frame.get("score", []), mode="lines+markers",
                                   marker={"color": colours}, name=self.metric))
        fig.add_hline(y=self.reference_score, line_dash="dot", annotation_text="reference")
        fig.add_hline(y=limit, line_dash="dash", line_color="#d62728",
                      annotation_text=f"{self.max_drop:.0%} worse")
        fig.update_layout(title=f"{self.metric} per window", xaxis_title="window",
                          yaxis_title=self.metric, height=320, margin={"t": 40})
        return fig

    def _repr_html_(self) -> str:
        verdict = "DEGRADED" if self.drifted else "stable"
        head = (f"<p><b>Concept drift: {verdict}</b> — {self.metric} reference "
                f"{self.reference_score:.4g}, max drop {self.max_drop:.0%}</p>")
        return head + self.to_frame().to_html(index=False)


def _choose_metric(y: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if numeric and pd.api.types.is_float_dtype(y) and y.nunique(dropna=True) > 20:
        return "rmse"
    return "accuracy"


def _windows(frame: pd.DataFrame, windows: int | str, time: str | None
             ) -> list[tuple[str, pd.DataFrame]]:
    if isinstance(windows, str):
        if time is None:
            raise InvalidInput("windows given as a period (e.g. '1D') need time='<column>'")
        stamps = pd.to_datetime(frame[time], utc=True, errors="coerce")
        if stamps.isna().all():
            raise InvalidInput(f"time column {time!r} holds no timestamps")
        try:
            groups = frame.assign(_t=stamps).groupby(pd.Grouper(key="_t", freq=windows))
        except ValueError as exc:
            raise InvalidInput(f"windows={windows!r} is not a pandas period: {exc}") from exc
        return [(str(start), part.drop(columns="_t")) for start, part in groups if len(part)]
    if not isinstance(windows, int) or windows < 1:
        raise InvalidInput(f"windows must be a positive number or a period, got {windows!r}")
    ordered = frame.sort_values(time, kind="stable") if time else frame
    n = min(windows, max(len(ordered), 1))
    bounds = np.linspace(0, len(ordered), n + 1).astype(int)
    return [(str(i + 1), ordered.iloc[a:b]) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))
            if b > a]


def concept_drift(data: pd.DataFrame, label: str, prediction: str = "prediction", *,
                  windows: int | str = 5, time: str | None = None, metric: str | None = None,
                  reference: pd.DataFrame | None = None, max_drop: float = 0.1,
                  min_rows: int = 30) -> ConceptDriftReport:
    """Score ``prediction`` against ``label`` per window and flag windows that got worse."""
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for column in (label, prediction) + ((time,) if time else ()):
        if column not in data.columns:
            raise InvalidInput(f"column {column!r} is not in the data (columns: "
                               f"{', '.join(map(str, data.columns[:20]))})")
    if not 0 <= max_drop < 1:
        raise InvalidInput(f"max_drop is a relative share in [0, 1), got {max_drop}")
    table = _metrics()
    metric = metric or _choose_metric(data[label])
    if metric not in table:
        raise InvalidInput(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    score_fn, higher = table[metric]
    labelled = data.dropna(subset=[label, prediction])
    if labelled.empty:
        raise InvalidInput(f"no row has both {label!r} and {prediction!r}: nothing to score")

    parts = _windows(labelled, windows, time)
    if reference is not None:
        ref_rows = reference.dropna(subset=[label, prediction])
        if ref_rows.empty:
            raise InvalidInput("the reference has no labelled, predicted row")
        ref_score = score_fn(ref_rows[label], ref_rows[prediction])
    else:
        ref_score = score_fn(parts[0][1][label], parts[0][1][prediction])
    limit = ref_score * ((1 - max_drop) if higher else (1 + max_drop))
    rows = []
    for name, part in parts:
        score = score_fn(part[label], part[prediction])
        enough = len(part) >= min_rows
        degraded = None if not enough else bool(score < limit if higher else score > limit)
        rows.append({"window": name, "rows": int(len(part)), "score": score,
                     "delta": score - ref_score, "degraded": degraded})
    return ConceptDriftReport(metric=metric, higher_is_better=higher,
                              reference_score=float(ref_score), max_drop=max_drop, windows=rows)
