"""Dataset snapshots: content-addressed versions, profiles, diffs, validation, gc.

The plain-Python API every surface adapts (cells, magics, REST, CLI):

    v = snapshot(df, "sales", tags=["baseline"])      # -> DatasetVersion
    df = load_dataset("sales", "baseline")            # latest | tag | hash prefix
    diff("sales", v.version, "latest")
    set_expectations("sales", {"columns": {"amount": {"min": 0}}})
    validate(df, "sales").raise_for_failures()
    gc(dry_run=True)

Lineage: tracking appends a callable to `on_dataset_used`; it is called with
`(version, "snapshot" | "load")` and must not raise (failures are logged).
"""

from __future__ import annotations

from .diff import DatasetDiff, diff
from .gc import GcReport, gc
from .profile import column_profile
from .access import (
    delete_version,
    get_version,
    list_datasets,
    list_versions,
    load_dataset,
    materialize,
    profile_version,
    verify,
)
from .runtime import on_dataset_used
from .snapshots import snapshot
from .types import DatasetSummary, DatasetVersion, validate_name
from .validation import (
    ExpectationsFailed,
    Failure,
    ValidationReport,
    get_expectations,
    set_expectations,
    suggest_expectations,
    validate,
)

__all__ = [
    "DatasetDiff",
    "DatasetSummary",
    "DatasetVersion",
    "ExpectationsFailed",
    "Failure",
    "GcReport",
    "ValidationReport",
    "column_profile",
    "delete_version",
    "diff",
    "gc",
    "get_expectations",
    "get_version",
    "list_datasets",
    "list_versions",
    "load_dataset",
    "materialize",
    "on_dataset_used",
    "profile_version",
    "set_expectations",
    "snapshot",
    "suggest_expectations",
    "validate",
    "validate_name",
    "verify",
]
