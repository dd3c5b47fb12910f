"""DriftReport exports: frame, JSON, figures and HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from jupyter_mlops.core.drift import DriftReport, drift
from jupyter_mlops.core.drift.report import FRAME_COLUMNS


@pytest.fixture(scope="module")
def report() -> DriftReport:
    rng = np.random.default_rng(0)
    n = 1500
    start = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    cities = ["Oslo", "Lima", "Pune"]

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "income": rng.lognormal(3 + shift, 0.5, n),
                "city": rng.choice(cities, n, p=[0.2, 0.3, 0.5] if shift else None),
                "signup": start + pd.Timedelta(days=40 * shift),
                "score": rng.normal(size=n),
                "<b>odd & name</b>": np.where(rng.random(n) < 0.1, np.nan, 1.0),
            }
        )

    ref, cur = frame(0.0), frame(1.0)
    cur.loc[:9, "score"] = np.inf
    cur["only_current"] = 1
    return drift(ref, cur, tests={"score": "psi"})


def test_headline_attributes(report: DriftReport) -> None:
    verdicts = [report[c].drifted for c in ("income", "city", "signup", "score")]
    assert verdicts == [True, True, True, False]
    assert report.n_drifted == 3 and report.n_evaluated == 5
    assert report.share == pytest.approx(0.6) and report.drifted is True
    assert "3 of 5" in report.headline()
    with pytest.raises(KeyError):
        report["absent"]


def test_to_frame_has_one_row_per_column(report: DriftReport) -> None:
    frame = report.to_frame()
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert list(frame["column"]) == [c.name for c in report.columns]
    assert str(frame["drifted"].dtype) == "boolean"
    row = frame.set_index("column").loc["only_current"]
    assert pd.isna(row["drifted"]) and row["reason"] == "missing in reference"
    assert np.isnan(frame.set_index("column").loc["income", "p_value"])  # distances have none
    assert frame.set_index("column").loc["score", "inf_current"] == 10


def test_to_dict_is_plain_json_and_round_trips(report: DriftReport) -> None:
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on NaN/inf, TypeError on numpy types
    assert json.loads(text) == data == json.loads(report.to_json())
    missing = next(c for c in data["columns"] if c["name"] == "only_current")
    assert missing["statistic"] is None and missing["drifted"] is None
    assert type(data["columns"][0]["n_reference"]) is int

    rebuilt = DriftReport.from_dict(json.loads(text))
    assert rebuilt.to_dict() == data
    assert rebuilt.drifted == report.drifted and rebuilt["city"].summary == report["city"].summary


def test_summaries_are_small(report: DriftReport) -> None:
    assert len(json.dumps(report.to_dict())) < 20_000
    psi = report["score"]
    assert len(psi.bins.reference) == 10 and len(psi.bins.edges) == 11
    assert psi.summary.kind == "histogram"
    assert len(psi.summary.edges) == len(psi.summary.reference) + 1
    assert report["city"].summary.kind == "categories"
    assert sorted(report["city"].summary.labels) == ["Lima", "Oslo", "Pune"]


def test_overview_figure(report: DriftReport) -> None:
    fig = report.figure()
    assert isinstance(fig, go.Figure)
    assert [trace.name for trace in fig.data] == ["score", "threshold"]
    scored = [c.name for c in report.columns if c.score is not None]
    assert list(fig.data[0].x) == scored
    assert list(fig.data[1].y) == [report[c].threshold for c in scored]
    colours = dict(zip(fig.data[0].x, fig.data[0].marker.color))
    assert colours["income"] != colours["score"]  # drifted vs not


def test_column_figures(report: DriftReport) -> None:
    numeric = report.figure("income")
    assert [t.name for t in numeric.data] == ["reference", "current"]
    assert all(isinstance(t, go.Bar) for t in numeric.data)
    assert numeric.layout.barmode == "overlay"
    assert sum(numeric.data[0].y) == pytest.approx(1.0)

    categorical = report.figure("city")
    assert categorical.layout.barmode == "group"
    assert sorted(categorical.data[0].x) == ["Lima", "Oslo", "Pune"]

    dates = report.figure("signup")
    assert isinstance(dates.data[0].x[0], (pd.Timestamp, np.datetime64, str))

    nothing = report.figure("only_current")
    assert len(nothing.data) == 0 and "missing in reference" in nothing.layout.annotations[0].text


def test_repr_html_escapes_and_colours(report: DriftReport) -> None:
    page = report._repr_html_()
    assert "&lt;b&gt;odd &amp; name&lt;/b&gt;" in page and "<b>odd" not in page
    assert "#f8d7da" in page and "#d4edda" in page and "#eeeeee" in page
    assert "Dataset drift detected" in page
    assert page.count("<tr>") == len(report.columns) + 1


def test_save_html_writes_a_standalone_page(report: DriftReport, tmp_path: Path) -> None:
    path = report.save_html(tmp_path / "drift.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for column in ("income", "city", "signup", "score", "only_current"):
        assert column in page
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # plotly.js inlined: works offline
    assert len(page) > 1_000_000
    cdn = report.save_html(tmp_path / "cdn.html", include_plotlyjs="cdn").read_text()
    assert len(cdn) < 200_000 and re.search(r"<script[^>]*src=\"https://cdn.plot.ly", cdn)
