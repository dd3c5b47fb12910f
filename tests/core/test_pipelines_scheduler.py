"""The scheduler's decisions, in-process: catch-up policies, concurrency, lease, pause,
spec sync, triggers consumed once. Runs are created but (except in the trigger test)
not executed: `_fire_due()` and `consume_triggers()` are called directly.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sqlalchemy import select, update

from jupyter_mlops.core.db.pipeline_models import PipelineRunRow, ScheduleRow, TriggerEventRow
from jupyter_mlops.core.errors import InvalidInput
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.pipelines.runs import as_utc, utcnow
from jupyter_mlops.core.pipelines.scheduler import (
    Scheduler,
    create_schedule,
    list_schedules,
    pause_schedule,
    resume_schedule,
    slots_between,
    sync_spec_schedules,
)
from jupyter_mlops.core.pipelines.triggers import install_dataset_trigger, list_triggers
from jupyter_mlops.core.workspace import Workspace


def notebook(path: Path, params: str = "x = 1", body: str = "y = x") -> None:
    nbformat.write(new_notebook(cells=[new_code_cell(params, metadata={"tags": ["parameters"]}),
                                       new_code_cell(body)]), path)


@pytest.fixture
def pws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    notebook(root / "job.ipynb")
    ws = Workspace.resolve(root)
    yield ws
    ws.close()


def runs_of(ws: Workspace, schedule_id: int) -> list[PipelineRunRow]:
    with ws.session() as session:
        return list(session.scalars(select(PipelineRunRow).where(
            PipelineRunRow.schedule_id == schedule_id).order_by(PipelineRunRow.scheduled_for)))


def pretend_down_since(ws: Workspace, schedule_id: int, minutes: int) -> list:
    """Move the schedule's next slot into the past, as after a scheduler outage."""
    now = utcnow()
    start = (now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    with ws.session() as session:
        session.execute(update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(
            next_fire_at=start))
    return [s for s in slots_between("* * * * *", "UTC", start, now)]


@pytest.mark.parametrize("policy, expect", [("skip", 0), ("latest", 1), ("backfill", 3)])
def test_missed_slots_follow_the_catch_up_policy(pws, policy, expect):
    schedule = create_schedule("job.ipynb", "* * * * *", catch_up=policy, max_backfill=3,
                               workspace=pws)
    late = pretend_down_since(pws, schedule.id, 10)
    fired = Scheduler(pws, misfire_grace=0, sync_specs=False)._fire_due()  # every slot is late
    rows = runs_of(pws, schedule.id)
    assert len(late) >= 10 and len(fired) == len(rows) == expect
    assert [as_utc(r.scheduled_for) for r in rows] == late[len(late) - expect:]
    assert all(r.status == "queued" and r.trigger == "catch_up" for r in rows)  # never skipped
    info = list_schedules(pws)[0]
    assert info.next_fire_at > utcnow() - timedelta(seconds=1)
    assert info.last_fire_at == late[-1]
    event = list_events(pws, kind="pipeline.schedule.missed")[0]
    assert event.data["policy"] == policy and event.data["missed"] == len(late) - expect


def test_a_slot_while_a_run_is_active_is_recorded_as_skipped_under_forbid(pws):
    schedule = create_schedule("job.ipynb", "* * * * * *", workspace=pws)
    scheduler = Scheduler(pws, misfire_grace=30, sync_specs=False)
    with pws.session() as session:
        session.execute(update(ScheduleRow).values(next_fire_at=utcnow() - timedelta(seconds=2)))
    scheduler._fire_due()
    rows = runs_of(pws, schedule.id)
    assert [r.status for r in rows][0] == "queued"
    assert all(r.status == "skipped" and "concurrency: forbid" in r.error for r in rows[1:])
    assert len({r.scheduled_for for r in rows}) == len(rows) >= 2


def test_firing_is_exactly_once_when_two_schedulers_race(pws):
    schedule = create_schedule("job.ipynb", "* * * * *", catch_up="backfill", max_backfill=50,
                               workspace=pws)
    pretend_down_since(pws, schedule.id, 20)
    schedulers = [Scheduler(Workspace.resolve(pws.root), misfire_grace=5, sync_specs=False)
                  for _ in range(4)]
    barrier = threading.Barrier(len(schedulers))

    def go(s: Scheduler) -> None:
        barrier.wait()
        s._fire_due()

    threads = [threading.Thread(target=go, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = runs_of(pws, schedule.id)
    slots = [r.scheduled_for for r in rows]
    assert len(slots) == len(set(slots)) >= 20


def test_only_one_scheduler_holds_the_lease(pws):
    a = Scheduler(pws, lease_ttl=30, sync_specs=False, holder="a")
    b = Scheduler(Workspace.resolve(pws.root), lease_ttl=30, sync_specs=False, holder="b")
    assert a.tick()["leader"] and not b.tick()["leader"]
    assert a.tick()["leader"]  # renewing
    a.release_lease()
    assert b.tick()["leader"] and not a.tick()["leader"]


def test_pause_and_resume_do_not_catch_up_the_pause(pws):
    schedule = create_schedule("job.ipynb", "* * * * *", workspace=pws)
    pause_schedule(schedule.id, pws)
    pretend_down_since(pws, schedule.id, 5)
    assert Scheduler(pws, sync_specs=False)._fire_due() == []
    resumed = resume_schedule(schedule.id, pws)
    assert not resumed.paused and resumed.next_fire_at > utcnow()
    assert len(resumed.to_dict()["upcoming"]) == 5
    assert Scheduler(pws, sync_specs=False)._fire_due() == []


def test_schedules_are_checked_when_created(pws):
    with pytest.raises(InvalidInput, match="field 2 \\(hour\\) '24'"):
        create_schedule("job.ipynb", "0 24 * * *", workspace=pws)
    with pytest.raises(InvalidInput, match="known parameters: x"):
        create_schedule("job.ipynb", "@daily", parameters={"y": 1}, workspace=pws)
    with pytest.raises(InvalidInput, match="needs a cron expression, triggers"):
        create_schedule("job.ipynb", workspace=pws)
    with pytest.raises(InvalidInput, match="Unknown trigger kind"):
        create_schedule("job.ipynb", triggers=[{"new_moon": "x"}], workspace=pws)


def test_spec_schedules_are_synced_from_files(pws):
    path = pws.root / "job.pipeline.yaml"
    path.write_text("steps: [{name: a, notebook: job.ipynb}]\n"
                    "schedule: {cron: '0 * * * *', catch_up: skip}\n"
                    "triggers: [{dataset_snapshot: sales}]\n")
    assert sync_spec_schedules(pws) == []
    (info,) = list_schedules(pws)
    assert (info.pipeline, info.source, info.cron, info.catch_up) == \
        ("job.pipeline.yaml", "spec", "0 * * * *", "skip")
    assert info.triggers == [{"kind": "dataset_snapshot", "subject": "sales"}]
    path.write_text("steps: [{name: a, notebook: job.ipynb}]\nschedule: {cron: '*/5 * * * *'}\n")
    sync_spec_schedules(pws)
    (info,) = list_schedules(pws)
    assert info.cron == "*/5 * * * *" and info.triggers == []
    path.write_text("steps: [{name: a, notebook: job.ipynb}]\nschedule: {cron: 'bad'}\n")
    problems = sync_spec_schedules(pws)
    assert problems and "job.pipeline.yaml" in problems[0]
    assert list_schedules(pws)[0].cron == "*/5 * * * *"  # a typo does not drop the schedule
    path.unlink()
    sync_spec_schedules(pws)
    assert list_schedules(pws) == []


def test_a_new_dataset_snapshot_triggers_one_run_exactly_once(pws):
    from jupyter_mlops.core.datasets import snapshot

    install_dataset_trigger()
    schedule = create_schedule("job.ipynb", triggers=[{"dataset_snapshot": "sales"}],
                               workspace=pws)
    frame = pd.DataFrame({"a": [1, 2, 3]})
    snapshot(frame, "sales", workspace=pws)
    snapshot(frame, "sales", workspace=pws)  # unchanged content: no new version, no trigger
    snapshot(frame.assign(b=1), "other", workspace=pws)  # nobody subscribed to it
    assert [(e.kind, e.subject) for e in list_triggers(pws)] == [
        ("dataset_snapshot", "other"), ("dataset_snapshot", "sales")]
    schedulers = [Scheduler(Workspace.resolve(pws.root), sync_specs=False, holder=f"s{i}")
                  for i in range(3)]
    barrier = threading.Barrier(len(schedulers))
    results: list[list[int]] = []

    def go(s: Scheduler) -> None:
        barrier.wait()
        results.append(s.consume_triggers())

    threads = [threading.Thread(target=go, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for r in results for i in r) == sorted(e.id for e in list_triggers(pws))
    rows = runs_of(pws, schedule.id)
    assert len(rows) == 1 and rows[0].trigger == "dataset_snapshot"
    assert rows[0].trigger_detail["subject"] == "sales"
    assert len(rows[0].trigger_detail["data"]["version"]) == 32
    with pws.session() as session:
        consumed = list(session.scalars(select(TriggerEventRow)))
    assert all(e.consumed for e in consumed)
    assert [e.run_ids for e in consumed if e.subject == "sales"] == [[rows[0].id]]


def test_a_trigger_passes_the_parameters_the_pipeline_declares(pws):
    """A drift alert's window reaches the notebook as papermill parameters; what the
    pipeline does not declare stays in the trigger detail instead of failing the run."""
    from jupyter_mlops.core.pipelines.triggers import record_trigger

    notebook(pws.root / "retrain.ipynb", params="window_start = ''\nshift = 0.0")
    schedule = create_schedule("retrain.ipynb", triggers=[{"drift_alert": "churn-monitor"}],
                               parameters={"shift": 0.5}, workspace=pws)
    record_trigger("drift_alert", "churn-monitor",
                   {"parameters": {"window_start": "2026-11-23T12:00:00+00:00",
                                   "alert_id": 7}}, workspace=pws)
    Scheduler(pws, sync_specs=False).consume_triggers()
    (row,) = runs_of(pws, schedule.id)
    assert row.parameters == {"window_start": "2026-11-23T12:00:00+00:00", "shift": 0.5}
    assert row.trigger_detail["data"]["parameters"]["alert_id"] == 7
