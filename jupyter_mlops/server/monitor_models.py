"""Pydantic models of the monitor, alert and timeline routes (mirrored by `src/api/monitor.ts`).

Field for field the records of `core.monitor` (`Monitor.to_dict()`,
`MonitorCheck.to_dict()`, `Alert.to_dict()`, `TimelineItem.to_dict()`), so a
monitor made in a notebook and one made through REST read the same.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .models import StrictModel

CheckStatus = Literal["ok", "drift", "insufficient_data", "error"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
TimelineKind = Literal["run", "dataset", "pipeline_run", "gate", "alias", "deployment",
                       "drift_check", "alert", "event"]


class MonitorCreate(StrictModel):
    deployment: str = Field(..., min_length=1, max_length=64,
                            description="The deployment whose prediction log is watched")
    name: str | None = Field(None, max_length=128,
                             description="Default '<deployment>-drift'; an existing name is "
                                         "updated")
    reference: str | None = Field(None, max_length=300,
                                  description="Dataset version 'name@version'; default: the data "
                                              "the stable model was trained on (lineage)")
    schedule: str = Field("*/10 * * * *", max_length=128, description="Cron expression (UTC)")
    window: str | int = Field("1h", description="A duration ('1h', '30m', '7d') or the last N "
                                                "rows")
    columns: list[str] | None = Field(None, description="Only these columns (default: the "
                                                        "columns both sides have)")
    thresholds: dict[str, float] | None = Field(None, description="{test or column: threshold}")
    tests: str | dict[str, str] | None = Field(None, description="One test, or {column: test}")
    drift_share: float = Field(0.5, gt=0, le=1, description="Share of drifted columns that is "
                                                            "dataset drift")
    on_drift: str | None = Field(None, max_length=1024,
                                 description="Pipeline file triggered once per incident")
    min_rows: int = Field(100, ge=1, description="Fewer rows in the window: insufficient data")
    cooldown: str | int = Field("1h", description="Least time between two alerts ('1h' or "
                                                  "seconds)")


class MonitorPatch(StrictModel):
    paused: bool = Field(..., description="Pause (true) or resume (false) the schedule")


class MonitorCheckModel(BaseModel):
    id: int
    monitor: str
    ts: str
    status: CheckStatus
    rows: int
    window_start: str | None = None
    window_end: str | None = None
    drifted: bool | None = None
    share: float | None = None
    n_drifted: int | None = None
    n_evaluated: int | None = None
    drifted_columns: list[str] = Field(default_factory=list)
    reference: str | None = Field(None, description="'name@<hash>' the window was compared with")
    drift_check_id: int | None = Field(None, description="The check in the drift history")
    alert_id: int | None = Field(None, description="Set when this check raised an alert")
    message: str | None = Field(None, description="Why no alert on drift (incident open, "
                                                  "cool-down, muted), or the error")
    duration_ms: float | None = None
    trigger_id: int | None = None


class MonitorModel(BaseModel):
    id: int
    name: str
    deployment: str
    reference: str | None
    schedule: str
    window: str
    columns: list[str] | None
    thresholds: dict[str, float] | None
    tests: Any = None
    drift_share: float
    on_drift: str | None
    min_rows: int
    cooldown_s: int
    paused: bool
    muted: bool
    muted_until: str | None
    next_check_at: str | None
    last_check_at: str | None
    last_status: str | None
    open_alert_id: int | None
    last_alert_at: str | None
    created: str
    updated: str
    actor: str | None
    last_check: MonitorCheckModel | None = None


class MonitorList(BaseModel):
    monitors: list[MonitorModel]


class MonitorHistoryQuery(StrictModel):
    limit: int = Field(50, ge=1, le=1000)
    before_id: int | None = Field(None, ge=1, description="Checks older than this id (paging)")


class MonitorHistory(BaseModel):
    checks: list[MonitorCheckModel]
    next_before_id: int | None


class MuteBody(StrictModel):
    until: str | None = Field(..., max_length=64,
                              description="ISO time or a duration from now ('2h'); null unmutes")


class AlertModel(BaseModel):
    id: int
    monitor: str
    deployment: str
    created: str
    status: AlertStatus
    title: str
    share: float | None = None
    drifted_columns: list[str] = Field(default_factory=list)
    window_start: str | None = None
    window_end: str | None = None
    check_id: int | None = None
    drift_check_id: int | None = None
    pipeline: str | None = None
    trigger_id: int | None = Field(None, description="The pipeline trigger event it recorded")
    occurrences: int = 1
    last_seen: str | None = None
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    resolved_at: str | None = None


class AlertListQuery(StrictModel):
    status: Literal["open", "acknowledged", "resolved", "active"] | None = Field(
        None, description="'active' = open or acknowledged")
    monitor: str | None = Field(None, max_length=128)
    limit: int = Field(100, ge=1, le=1000)
    before_id: int | None = Field(None, ge=1)


class AlertList(BaseModel):
    alerts: list[AlertModel]
    next_before_id: int | None


class AcknowledgeBody(StrictModel):
    note: str | None = Field(None, max_length=4000)


class TimelineQuery(StrictModel):
    since: str | None = Field(None, max_length=64, description="ISO time or a duration back "
                                                               "from now ('1d')")
    until: str | None = Field(None, max_length=64)
    before: str | None = Field(None, max_length=64, description="Items strictly older than this "
                                                                "time (the previous page's "
                                                                "next_before)")
    kinds: str | None = Field(None, max_length=200, description="Comma-separated kinds")
    limit: int = Field(200, ge=1, le=1000)


class TimelineItemModel(BaseModel):
    kind: TimelineKind
    id: str = Field(description="Unique in the list: '<kind>:<id>'")
    time: str
    title: str
    status: str | None = None
    subject: str | None = None
    actor: str | None = None
    ref: dict[str, Any] = Field(description="What to open: {kind, id | name, version…}")
    detail: dict[str, Any] = Field(default_factory=dict)


class TimelineResponse(BaseModel):
    items: list[TimelineItemModel]
    next_before: str | None = Field(None, description="Pass as 'before' for the next page")
    unavailable: dict[str, str] = Field(default_factory=dict,
                                        description="Sources that did not answer, and why")


class MonitorListQuery(StrictModel):
    deployment: str | None = Field(None, max_length=64, description="Only this deployment's")


class MonitorDeleted(BaseModel):
    name: str
    deleted: bool
