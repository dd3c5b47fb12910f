"""Plotly figures and HTML for drift reports.

Imported only when a figure or HTML is requested, so ``drift()`` itself never
pays for plotly. Everything is drawn from the report's small summaries.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from .stats import P_VALUE_TESTS

if TYPE_CHECKING:
    from .report import ColumnDrift, DriftReport

DRIFT_COLOUR = "#d62728"
STABLE_COLOUR = "#2ca02c"
UNKNOWN_COLOUR = "#9e9e9e"
REFERENCE_COLOUR = "#1f77b4"
CURRENT_COLOUR = "#ff7f0e"
_CELL = {True: "#f8d7da", False: "#d4edda", None: "#eeeeee"}
_WORD = {True: "drift", False: "no drift", None: "n/a"}


def _colour(drifted: bool | None) -> str:
    if drifted is None:
        return UNKNOWN_COLOUR
    return DRIFT_COLOUR if drifted else STABLE_COLOUR


def overview_figure(report: DriftReport) -> go.Figure:
    """One bar per column with a score, plus the threshold it is judged against.

    The score is the p-value for tests (drift when *below* the threshold) and
    the statistic for distances (drift when *at or above*); bar colour carries
    the verdict so the mixed directions do not have to be decoded.
    """
    scored = [c for c in report.columns if c.score is not None]
    names = [c.name for c in scored]
    hover = [
        f"{c.test}: {'p-value' if c.test in P_VALUE_TESTS else 'statistic'} = {c.score:.4g}"
        f"<br>threshold {c.threshold:.4g} — {_WORD[c.drifted]}"
        for c in scored
    ]
    fig = go.Figure(
        [
            go.Bar(
                name="score",
                x=names,
                y=[c.score for c in scored],
                marker_color=[_colour(c.drifted) for c in scored],
                hovertext=hover,
                hoverinfo="text",
            ),
            go.Scatter(
                name="threshold",
                x=names,
                y=[c.threshold for c in scored],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 24, "line": {"width": 3}},
                marker_color="black",
            ),
        ]
    )
    fig.update_layout(
        # the short form: plotly does not wrap titles, and the full headline is cut off
        title=("Drift" if report.drifted else "No drift")
        + f": {report.n_drifted} of {report.n_evaluated} columns",
        xaxis_title="column",
        yaxis_title="p-value (tests) / distance",
        showlegend=True,
        template="plotly_white",
    )
    return fig


def column_figure(column: ColumnDrift) -> go.Figure:
    """Reference vs current distribution: overlaid histogram or grouped bars, as shares."""
    title = f"{column.name} — {_describe(column)}"
    summary = column.summary
    fig = go.Figure()
    if summary is None:
        fig.add_annotation(text=column.reason or "no data", showarrow=False)
        fig.update_layout(title=title, template="plotly_white")
        return fig
    ref_share = _shares(summary.reference)
    cur_share = _shares(summary.current)
    if summary.kind == "histogram" and summary.edges is not None:
        edges = summary.edges
        x: list = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        if column.kind == "datetime":
            import pandas as pd

            x = list(pd.to_datetime(x, unit="ns"))
            widths = [w / 1e6 for w in widths]  # plotly date axes measure widths in ms
        for name, ys, colour in (
            ("reference", ref_share, REFERENCE_COLOUR),
            ("current", cur_share, CURRENT_COLOUR),
        ):
            fig.add_bar(name=name, x=x, y=ys, width=widths, marker_color=colour, opacity=0.55)
        fig.update_layout(barmode="overlay", bargap=0)
    else:
        for name, ys, colour in (
            ("reference", ref_share, REFERENCE_COLOUR),
            ("current", cur_share, CURRENT_COLOUR),
        ):
            fig.add_bar(name=name, x=summary.labels, y=ys, marker_color=colour)
        fig.update_layout(barmode="group")
        fig.update_xaxes(type="category")
    fig.update_layout(title=title, yaxis_title="share of rows", template="plotly_white")
    return fig


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _describe(column: ColumnDrift) -> str:
    if column.test is None or column.statistic is None:
        return column.reason or "not evaluated"
    text = f"{column.test} = {column.statistic:.4g}"
    if column.p_value is not None:
        text += f", p = {column.p_value:.3g}"
    return f"{text} ({_WORD[column.drifted]})"


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "" if value is None else format(value, spec)


def report_table_html(report: DriftReport) -> str:
    """Headline plus one row per column; the verdict cell is coloured."""
    head = (
        "<tr>"
        + "".join(
            f"<th style='text-align:left;padding:2px 8px'>{h}</th>"
            for h in (
                "column",
                "kind",
                "test",
                "statistic",
                "p-value",
                "threshold",
                "drift",
                "missing ref / cur",
                "unseen",
                "reason",
            )
        )
        + "</tr>"
    )
    rows = []
    for c in report.columns:
        missing = f"{_fmt(c.nan_share_reference, '.1%')} / {_fmt(c.nan_share_current, '.1%')}"
        unseen = ", ".join(c.unseen_categories)
        if c.n_unseen > len(c.unseen_categories):
            unseen += f" (+{c.n_unseen - len(c.unseen_categories)})"
        cells = [
            c.name,
            c.kind,
            c.test or "",
            ("≈ " if c.approximate else "") + _fmt(c.statistic, ".4g"),
            _fmt(c.p_value, ".3g"),
            _fmt(c.threshold, ".3g"),
        ]
        tail = [missing, unseen, c.reason or ""]
        rows.append(
            "<tr>"
            + "".join(f"<td style='padding:2px 8px'>{html.escape(v)}</td>" for v in cells)
            + f"<td style='padding:2px 8px;background:{_CELL[c.drifted]}'>"
            f"<b>{_WORD[c.drifted]}</b></td>"
            + "".join(f"<td style='padding:2px 8px'>{html.escape(v)}</td>" for v in tail)
            + "</tr>"
        )
    colour = DRIFT_COLOUR if report.drifted else STABLE_COLOUR
    return (
        "<div class='jp-mlops-drift-report'>"
        f"<p style='font-weight:bold;color:{colour}'>{html.escape(report.headline())}</p>"
        "<table style='border-collapse:collapse;font-size:90%'>"
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def report_page_html(report: DriftReport, include_plotlyjs: bool | str = "inline") -> str:
    """A standalone page: the table, the overview figure and one figure per column."""
    if include_plotlyjs == "inline":
        include_plotlyjs = True
    figures = [overview_figure(report)] + [
        column_figure(c) for c in report.columns if c.summary is not None
    ]
    divs = [
        fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs if i == 0 else False)
        for i, fig in enumerate(figures)
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Drift report</title></head>"
        "<body style='font-family:sans-serif'>"
        f"<h1>Drift report</h1>{report_table_html(report)}{''.join(divs)}</body></html>"
    )
