"""Log a drift report to the active tracking run, when there is one.

A check made inside ``with start_run():`` (or a ``%%track`` cell) becomes part
of that run: the metrics ``drift.share``, ``drift.n_drifted``, ``drift.drifted``
and per column ``drift.<column>.<test>`` (the statistic) and
``drift.<column>.p_value`` (for tests that have one); the overview figure as
``figures/drift.html``/``.json`` and the report JSON as ``drift/report.json``.
Repeated checks in one run log successive steps of the same metrics.

The tracking module is looked up in ``sys.modules`` rather than imported: if
it was never imported no run can be active, and a plain ``drift()`` call never
pays for MLflow.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from .report import DriftReport

log = logging.getLogger("jupyter_mlops.core.drift")

#: characters MLflow refuses in metric names are replaced by "_"
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. :/]")


def metric_name(column: str) -> str:
    """A column name as a metric-name segment: unsafe characters and '/' become '_'."""
    cleaned = _UNSAFE.sub("_", column).replace("/", "_").strip(" .") or "_"
    return cleaned[:120]


def report_metrics(report: DriftReport) -> dict[str, float]:
    """The metrics a report contributes to a run (finite numbers only)."""
    metrics: dict[str, float] = {
        "drift.n_drifted": float(report.n_drifted),
        "drift.drifted": float(report.drifted),
    }
    if report.share is not None:
        metrics["drift.share"] = float(report.share)
    for column in report.columns:
        if column.test is None or column.statistic is None:
            continue
        key = f"drift.{metric_name(column.name)}"
        metrics[f"{key}.{column.test}"] = float(column.statistic)
        if column.p_value is not None:
            metrics[f"{key}.p_value"] = float(column.p_value)
    return {k: v for k, v in metrics.items() if v == v and abs(v) != float("inf")}


def _active_run() -> Any:
    runs = sys.modules.get("jupyter_mlops.core.tracking.runs")
    return runs.active_run() if runs is not None else None


def log_to_active_run(report: DriftReport) -> bool:
    """Log to the innermost active run; False when there is none.

    Metrics are buffered by the run (cheap); the figure and the JSON are
    artifacts written at once. A failing artifact upload is logged as a
    warning: the check itself succeeded and must not be lost.
    """
    run = _active_run()
    if run is None:
        return False
    run.log(**report_metrics(report))
    try:
        run.log_figure(report.figure(), "drift")
        run.log_text(report.to_json(indent=1), "drift/report.json")
    except Exception:  # noqa: BLE001 - artifacts are a bonus; the metrics are logged
        log.warning("could not store the drift figure in run %s", run.id, exc_info=True)
    return True
