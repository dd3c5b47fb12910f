"""Data drift between a reference and a current DataFrame.

>>> report = drift(reference_df, current_df)          # doctest: +SKIP
>>> report.drifted, report.share, report.to_frame()   # doctest: +SKIP

Test choice, thresholds and edge-case handling are documented in
:mod:`.engine`; the statistics' exact definitions (JS *distance*, PSI epsilon,
KS p-value regimes) in :mod:`.stats`. Importing this package does not import
scipy.stats or plotly; they load on first use.
"""

from .engine import drift
from .report import ColumnDrift, DriftReport, Summary
from .stats import DEFAULT_THRESHOLDS, DISTANCE_TESTS, P_VALUE_TESTS, TEST_NAMES

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DISTANCE_TESTS",
    "P_VALUE_TESTS",
    "TEST_NAMES",
    "ColumnDrift",
    "DriftReport",
    "Summary",
    "drift",
]
