"""`%drift` and `drift_explorer()`: the notebook surface of the drift capability.

    %drift ref_df cur_df                       # two DataFrames of the notebook
    %drift sales@baseline sales                # two dataset versions (latest = "sales")
    %drift ref_df sales --columns age,income --test age=psi --threshold psi=0.2

A side is a variable of the user's namespace when one has that name (a
DataFrame or a DatasetVersion), otherwise a dataset reference. The magic
returns the report, so the cell shows its table (``_repr_html_``) and the
value is there for the next cell (``_``). Thin adapter over
``jupyter_mlops.core.drift.drift``: errors a user can fix become one
UsageError line.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

from .core.errors import MLOpsError

DRIFT_USAGE = ("%drift REF CUR [--columns a,b] [--test TEST | --test col=TEST]... "
               "[--threshold key=VALUE]... [--drift-share S] [--sample N] [--bins B] "
               "[--mode exact|sketch] [--plot]")
OVERVIEW = "(all columns)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\nUsage: {self.usage}")


def _parser() -> _Parser:
    parser = _Parser(prog="%drift", usage=DRIFT_USAGE, add_help=False)
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("--columns", "-c", default=None)
    parser.add_argument("--test", "-t", action="append", default=[])
    parser.add_argument("--threshold", action="append", default=[])
    parser.add_argument("--drift-share", type=float, default=0.5)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--mode", choices=("exact", "sketch"), default="exact")
    parser.add_argument("--plot", action="store_true")
    return parser


def _side(token: str, namespace: Mapping[str, Any]) -> Any:
    """A notebook variable of that name, else the token as a dataset reference."""
    if token in namespace:
        return namespace[token]
    return token


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{option} expects key=value, got {item!r}.\nUsage: {DRIFT_USAGE}")
        out[key] = value
    return out


def _tests(items: list[str]) -> str | dict[str, str] | None:
    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    if any("=" not in item for item in items):
        raise UsageError("--test is either one test for every column (--test psi) or "
                         f"per column (--test age=psi), not both.\nUsage: {DRIFT_USAGE}")
    return _pairs(items, "--test")


def _thresholds(items: list[str]) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for key, value in _pairs(items, "--threshold").items():
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"--threshold {key}={value}: {value!r} is not a number.") from None
    return out or None


def drift_magic(line: str, namespace: Mapping[str, Any]) -> Any:
    """Run ``drift()`` on the two sides named in ``line``; returns the report."""
    from .core.drift import drift

    args = _parser().parse_args(shlex.split(line))
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    try:
        report = drift(
            _side(args.reference, namespace), _side(args.current, namespace),
            columns=columns, tests=_tests(args.test), thresholds=_thresholds(args.threshold),
            drift_share=args.drift_share, sample=args.sample, bins=args.bins,
            reference_mode=args.mode, origin="magic")
    except MLOpsError as exc:
        raise UsageError(exc.message) from None
    if args.plot:
        from IPython.display import display

        display(report)
        return drift_explorer(report)
    return report


def drift_explorer(report: Any) -> Any:
    """A column dropdown over the report's figures: the overview, then one plot per column.

    Figures go into an ``Output`` widget as a plotly mime bundle, rendered by
    JupyterLab's plotly renderer (plotly 6+ ``FigureWidget`` needs
    ``anywidget``, which is optional here); the bundle is set on the widget
    rather than captured from ``display``, so it works wherever the widget is
    built (a kernel, a thread, a test). Accepts a ``DriftReport``, a
    recorded ``DriftCheck`` or a check id.
    """
    import ipywidgets as widgets

    report = _as_report(report)
    names = [c.name for c in report.columns if c.summary is not None]
    picker = widgets.Dropdown(options=[OVERVIEW, *names], value=OVERVIEW, description="column")
    verdict = widgets.HTML()
    output = widgets.Output()

    def show(column: str) -> None:
        fig = report.figure(None if column == OVERVIEW else column)
        fig.update_layout(height=420)
        verdict.value = _verdict_html(report, column)
        output.outputs = ({"output_type": "display_data", "data": figure_bundle(fig),
                           "metadata": {}},)

    picker.observe(lambda change: show(change["new"]), names="value")
    show(OVERVIEW)
    box = widgets.VBox([widgets.HTML(f"<b>{_escape(report.headline())}</b>"),
                        picker, verdict, output])
    box.picker, box.output, box.show = picker, output, show  # for tests and callers
    return box


def figure_bundle(fig: Any) -> dict[str, Any]:
    """The mime bundle of a plotly figure: plotly JSON, plus HTML for other frontends."""
    import json

    import plotly.io as pio

    return {"application/vnd.plotly.v1+json": {**json.loads(pio.to_json(fig)), "config": {}},
            "text/html": fig.to_html(include_plotlyjs="cdn", full_html=False)}


def _as_report(value: Any) -> Any:
    from .core.drift import DriftReport

    if isinstance(value, DriftReport):
        return value
    if isinstance(value, int):
        from .core.drift.history import get_check

        return get_check(value).report
    if hasattr(value, "report_data"):
        return value.report
    raise UsageError(f"drift_explorer expects a DriftReport, a DriftCheck or a check id, "
                     f"got {type(value).__name__}.")


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _verdict_html(report: Any, column: str) -> str:
    if column == OVERVIEW:
        return ""
    c = report[column]
    word = {True: "drift", False: "no drift", None: "n/a"}[c.drifted]
    parts = [f"<b>{_escape(c.name)}</b> ({c.kind})", word]
    if c.test:
        score = "p" if c.p_value is not None else c.test
        parts.append(f"{score} = {c.score:.4g} vs threshold {c.threshold:.4g}"
                     if c.score is not None else c.test)
    if c.approximate:
        parts.append("approximate (reference from the stored sketch)")
    if c.reason:
        parts.append(_escape(c.reason))
    return " · ".join(parts)


def register_drift_magics(ipython: Any) -> None:
    """Register `%drift` on a shell (called from `magics.register`)."""

    def drift(line: str) -> Any:
        return drift_magic(line, ipython.user_ns)

    drift.__doc__ = f"{drift_magic.__doc__}\n\nUsage: {DRIFT_USAGE}"
    ipython.register_magic_function(drift, "line", "drift")
