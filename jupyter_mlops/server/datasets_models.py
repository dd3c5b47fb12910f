"""Pydantic models of the datasets REST API (capability "datasets").

They mirror the `to_dict()` answers of `jupyter_mlops.core.datasets`, so the
OpenAPI document and `src/api/datasets.ts` describe exactly what the core
hands out. Profiles are typed for the fields a UI reads (histograms, top
categories, summary statistics) and keep any other field the core adds
(`extra="allow"`), so a richer profile never breaks an older client.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .models import StrictModel


# -- requests ----------------------------------------------------------------------------------
class DatasetSnapshotRequest(StrictModel):
    path: str = Field(..., min_length=1, max_length=4096,
                      description="A file or folder inside the workspace root, relative to it")
    name: str = Field(..., description="Dataset name: letters, digits, '.', '_' and '-'")
    tags: list[str] = Field(default_factory=list, description="Tags moved onto this version")
    description: str | None = Field(None, max_length=10_000)
    profile: bool | None = Field(
        None, description="Profile the file now; by default tabular files (CSV, TSV, Parquet, "
                          "JSON) up to 200 MB are profiled and others are not")
    verify: bool = Field(False, description="Re-hash the file even when its stat is unchanged")


class DatasetDiffQuery(StrictModel):
    a: str | None = Field(None, max_length=256,
                          description="Older version (hash prefix, tag); default: the one "
                                      "snapshotted before b")
    b: str = Field("latest", max_length=256, description="Newer version (hash prefix, tag)")


class DatasetVersionsQuery(StrictModel):
    runs: bool = Field(True, description="Look up the MLflow runs that used each version")


class DatasetExpectationsQuery(StrictModel):
    suggest: bool = Field(False, description="When none are stored, answer a suggestion read "
                                             "off the latest version's profile")


class DatasetExpectationsUpdate(StrictModel):
    expectations: dict[str, Any] | None = Field(
        ..., description="{'columns': {col: {type, nullable, min, max, allowed, unique, "
                         "pattern, required}}, 'allow_extra_columns', 'min_rows', 'max_rows'}; "
                         "null clears them")


class DatasetValidateRequest(StrictModel):
    expectations: dict[str, Any] | None = Field(
        None, description="Check against these instead of the stored expectations")


class DatasetGcRequest(StrictModel):
    dry_run: bool = Field(True, description="List what would be removed, remove nothing")
    grace_seconds: float = Field(600.0, ge=0, le=86_400 * 365,
                                 description="Objects younger than this are kept (an in-flight "
                                             "snapshot may be about to reference them)")


# -- answers -----------------------------------------------------------------------------------
class DatasetSummaryModel(BaseModel):
    name: str
    description: str | None
    created: str
    updated: str
    versions: int
    latest: str | None
    latest_kind: str | None
    latest_rows: int | None
    latest_bytes: int | None
    tags: dict[str, str] = Field(description="tag → version hash")
    has_expectations: bool


class DatasetListResponse(BaseModel):
    datasets: list[DatasetSummaryModel]


class DatasetRunRef(BaseModel):
    """An MLflow run that logged the version as an input (a load or a snapshot inside it)."""

    id: str
    name: str
    experiment_id: str
    status: str
    start_time: int | None


class DatasetSchemaField(BaseModel):
    name: str
    dtype: str


class DatasetVersionModel(BaseModel):
    name: str
    version: str = Field(description="Content hash (hash_algo)")
    short: str
    kind: str = Field(description="table, file or folder")
    created: str
    snapshotted: str | None = Field(description="Last time this content was snapshotted")
    bytes: int
    rows: int | None
    files: int | None
    tags: list[str]
    description: str | None
    source: str | None = Field(description="Workspace-relative path of a file or folder")
    hash_algo: str
    sha256: str | None
    actor: str | None
    runs: list[DatasetRunRef] | None = Field(
        None, description="Runs that used this version; null when not looked up")


class DatasetVersionListResponse(BaseModel):
    name: str
    versions: list[DatasetVersionModel]
    runs_note: str | None = Field(None, description="Why runs were not (all) looked up")


class DatasetHistogram(BaseModel):
    edges: list[float | None]
    counts: list[int]


class DatasetCategories(BaseModel):
    values: list[Any]
    counts: list[int]
    other: int
    truncated: bool


class DatasetTopValue(BaseModel):
    value: Any
    count: int


class DatasetQuantiles(BaseModel):
    levels: list[float]
    values: list[float | None]


class DatasetColumnProfile(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    dtype: str
    kind: str = Field(description="numeric, datetime, categorical, boolean, text, empty, "
                                  "unsupported")
    count: int
    missing: int
    null_share: float | None
    distinct: int | None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: DatasetQuantiles | None = None
    histogram: DatasetHistogram | None = None
    categories: DatasetCategories | None = None
    top: list[DatasetTopValue] | None = None
    min_iso: str | None = None
    max_iso: str | None = None


class DatasetProfile(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: int
    rows: int
    columns: list[DatasetColumnProfile]


class DatasetVersionDetail(DatasetVersionModel):
    schema_: list[DatasetSchemaField] | None = Field(
        None, alias="schema", description="Stored schema, else the profiled columns' dtypes")
    profile: DatasetProfile | None = Field(description="Without the drift sketches")
    path: str | None = Field(description="Where the object is stored")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DatasetProfileResponse(BaseModel):
    name: str
    version: str
    profile: DatasetProfile


class DatasetDeltaValue(BaseModel):
    a: Any = None
    b: Any = None
    delta: float | None = None


class DatasetColumnDelta(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    kind: DatasetDeltaValue
    changed: bool
    null_share: DatasetDeltaValue | None = None
    distinct: DatasetDeltaValue | None = None
    min: DatasetDeltaValue | None = None
    max: DatasetDeltaValue | None = None
    mean: DatasetDeltaValue | None = None
    std: DatasetDeltaValue | None = None
    mean_shift_std: float | None = None
    category_tvd: float | None = None
    new_categories: list[Any] | None = None
    missing_categories: list[Any] | None = None


class DatasetRetypedColumn(BaseModel):
    name: str
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DatasetDiffResponse(BaseModel):
    name: str
    a: str
    b: str
    kind_a: str
    kind_b: str
    identical: bool
    rows: DatasetDeltaValue
    bytes: DatasetDeltaValue
    added_columns: list[DatasetSchemaField]
    removed_columns: list[DatasetSchemaField]
    retyped_columns: list[DatasetRetypedColumn]
    columns: list[DatasetColumnDelta]
    added_files: list[str]
    removed_files: list[str]
    changed_files: list[str]
    profiles_compared: bool
    summary: str


class DatasetExpectationsResponse(BaseModel):
    name: str
    expectations: dict[str, Any] | None
    suggested: dict[str, Any] | None = Field(
        None, description="A suggestion (only with ?suggest=true and nothing stored)")


class DatasetFailureModel(BaseModel):
    column: str | None
    check: str
    count: int
    examples: list[Any]
    message: str


class DatasetValidationResponse(BaseModel):
    dataset: str | None
    version: str
    passed: bool
    rows: int
    columns_checked: int
    failures: list[DatasetFailureModel]
    summary: str


class DatasetSnapshotResponse(DatasetVersionDetail):
    new: bool = Field(description="False when the content was already stored")
    profile_error: str | None = Field(
        None, description="Why the automatic profile failed (the snapshot itself succeeded)")


class DatasetDeleteResponse(BaseModel):
    name: str
    deleted: str = Field(description="The hash of the forgotten version; gc reclaims its "
                                     "object when nothing else uses it")


class DatasetGcObject(BaseModel):
    key: str
    size: int


class DatasetGcTemp(BaseModel):
    name: str
    size: int


class DatasetGcResponse(BaseModel):
    dry_run: bool
    objects: list[DatasetGcObject]
    temps: list[DatasetGcTemp]
    checkouts: list[str]
    kept_recent: int
    referenced: int
    bytes: int
    summary: str
