"""Pydantic models of the drift routes (mirrored by `src/api/drift.ts`).

The report shapes follow `core.drift.report` field for field, so a check
recorded from a notebook and one made through REST read the same.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..core.drift.stats import TEST_NAMES
from .models import StrictModel

TestName = Literal["ks", "wasserstein", "psi", "jensen_shannon", "chi2", "kl", "hellinger", "z"]
ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
assert set(TestName.__args__) == set(TEST_NAMES)  # type: ignore[attr-defined]


class DriftCheckCreate(StrictModel):
    reference: str = Field(..., min_length=1, max_length=300,
                           description="Dataset version: 'name@version' (a tag, a hash prefix "
                                       "or 'latest'), or 'name' for the latest")
    current: str = Field(..., min_length=1, max_length=300,
                         description="Dataset version compared with the reference, or a "
                                     "deployment's prediction log: 'deployment:<name>@1h' "
                                     "(a duration) or '@500' (the last requests)")
    columns: list[str] | None = Field(None, description="Only these columns (default: all)")
    tests: TestName | dict[str, TestName] | None = Field(
        None, description="One test for every column, or {column: test}; default per kind "
                          "and size (ks/wasserstein for numbers, chi2/jensen_shannon for "
                          "categories)")
    column_kinds: dict[str, ColumnKind] | None = Field(None, description="Force a column's kind")
    thresholds: dict[str, float] | None = Field(
        None, description="{test or column: threshold}; 'test:ks' / 'column:ks' when a name "
                          "is both")
    drift_share: float = Field(0.5, gt=0, le=1,
                               description="The dataset drifts when this share of evaluated "
                                           "columns drifted")
    bins: int = Field(10, ge=2, le=1000, description="Quantile bins of psi/kl/js on numbers")
    sample: int | None = Field(None, ge=1, description="Rows drawn from each side, if given")
    reference_mode: Literal["exact", "sketch"] = Field(
        "exact", description="'exact' reads the reference columns its stored profile cannot "
                             "answer exactly; 'sketch' never reads them (rows flagged "
                             "approximate)")


class SummaryModel(BaseModel):
    kind: Literal["histogram", "categories"]
    reference: list[int]
    current: list[int]
    edges: list[float] | None = None
    labels: list[str] | None = None


class ColumnDriftModel(BaseModel):
    name: str
    kind: str
    test: str | None
    statistic: float | None
    p_value: float | None
    threshold: float | None
    score: float | None = Field(None, description="p-value for tests, the statistic for "
                                                  "distances: what the threshold judges")
    drifted: bool | None = Field(description="None when no verdict could be reached (see reason)")
    reason: str | None
    n_reference: int
    n_current: int
    nan_share_reference: float | None
    nan_share_current: float | None
    inf_reference: int
    inf_current: int
    unseen_categories: list[str]
    n_unseen: int
    approximate: bool = False
    summary: SummaryModel | None = None
    bins: SummaryModel | None = None


class DriftReportModel(BaseModel):
    drifted: bool
    share: float | None
    n_drifted: int
    n_evaluated: int
    n_columns: int
    drift_share: float
    headline: str
    options: dict[str, Any]
    columns: list[ColumnDriftModel]


class DriftCheckModel(BaseModel):
    id: int
    created: str
    actor: str | None
    origin: str = Field(description="Where the check was made: python, magic or rest")
    reference: str
    reference_dataset: str | None
    reference_version: str | None
    current: str
    current_dataset: str | None
    current_version: str | None
    drifted: bool
    share: float | None
    drift_share: float
    n_drifted: int
    n_evaluated: int
    n_columns: int
    drifted_columns: list[str]
    options: dict[str, Any]


class DriftCheckDetail(DriftCheckModel):
    report: DriftReportModel


class DriftCheckListQuery(StrictModel):
    dataset: str | None = Field(None, max_length=128,
                                description="Checks where this dataset is either side")
    before_id: int | None = Field(None, ge=1, description="Page backwards from this id")
    limit: int = Field(50, ge=1, le=1000)


class DriftCheckList(BaseModel):
    checks: list[DriftCheckModel]
    next_before_id: int | None = Field(None, description="Pass as before_id for the next page")


class DriftFigureQuery(StrictModel):
    column: str | None = Field(None, max_length=1000,
                               description="A column's distributions; omitted: the scores of "
                                           "all columns against their thresholds")


class PlotlyFigure(BaseModel):
    """A plotly figure as `plotly.io.to_json` writes it; render with `Plotly.react`."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


class DriftHtmlQuery(StrictModel):
    download: bool = Field(False, description="Send as an attachment (drift-check-<id>.html)")
