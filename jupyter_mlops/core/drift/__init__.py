"""Data drift between a reference and a current DataFrame.

>>> report = drift(reference_df, current_df)          # doctest: +SKIP
>>> report.drifted, report.share, report.to_frame()   # doctest: +SKIP

Test choice, thresholds and edge-case handling are documented in
:mod:`.engine`; the statistics' exact definitions (JS *distance*, PSI epsilon,
KS p-value regimes) in :mod:`.stats`. Dataset versions as sides
(``drift("sales@v1", "sales@v2")``) and what is read from the stored profile
are described in :mod:`.sources`; the kept history of checks
(``list_checks``/``get_check``) in :mod:`.history`; a deployment's prediction
log as a side (``"deployment:churn-api@1h"``) in :mod:`.deployment_side`;
performance per window once labels are known in :mod:`.concept`. Importing this package
does not import scipy.stats, plotly or SQLAlchemy; they load on first use.
"""

from typing import Any

from .engine import drift
from .report import ColumnDrift, DriftReport, Summary
from .stats import DEFAULT_THRESHOLDS, DISTANCE_TESTS, P_VALUE_TESTS, TEST_NAMES

#: served lazily: the history needs SQLAlchemy and the state DB models
_HISTORY = ("DriftCheck", "get_check", "list_checks", "record_check")


def __getattr__(name: str) -> Any:
    if name in ("concept_drift", "ConceptDriftReport"):
        from . import concept

        return getattr(concept, name)
    if name in _HISTORY:
        from . import history

        return getattr(history, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *_HISTORY,
    "ConceptDriftReport",
    "concept_drift",
    "DEFAULT_THRESHOLDS",
    "DISTANCE_TESTS",
    "P_VALUE_TESTS",
    "TEST_NAMES",
    "ColumnDrift",
    "DriftReport",
    "Summary",
    "drift",
]
