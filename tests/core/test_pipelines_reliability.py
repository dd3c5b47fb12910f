"""Reliability with real processes, no mocks: a runner killed mid-step, and two schedulers
sharing one database.

Scheduler processes are `python -m jupyter_mlops.cli scheduler` (what
`jupyter mlops scheduler` runs), with a short lease so a takeover fits in a test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sqlalchemy import select

from jupyter_mlops.core.db.pipeline_models import (
    LeaseRow,
    PipelineRunRow,
    ScheduleRow,
    StepRunRow,
)
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.pipelines.executor import get_executor
from jupyter_mlops.core.pipelines.runs import as_utc, pid_alive, utcnow
from jupyter_mlops.core.pipelines.scheduler import Scheduler, create_schedule, slots_between
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.slow

HOLD = ("import os, time\n"
        "flag = os.path.join(os.environ['JUPYTER_MLOPS_WORKSPACE'], 'hold.flag')\n"
        "deadline = time.time() + 90\n"
        "while os.path.exists(flag) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n")


def notebook(path: Path, body: str) -> None:
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                                       new_code_cell(body)]), path)


def start_scheduler(root: Path, log: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env["JUPYTER_MLOPS_MAX_WORKERS"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_mlops.cli", "scheduler", "-w", str(root),
         "--no-sync", "--no-track", "--lease-ttl", "2", "--misfire-grace", "1", "--tick", "0.1",
         *extra],
        stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)  # noqa: SIM115


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def rows(ws: Workspace, schedule_id: int) -> list[PipelineRunRow]:
    with ws.session() as session:
        return list(session.scalars(select(PipelineRunRow).where(
            PipelineRunRow.schedule_id == schedule_id).order_by(PipelineRunRow.scheduled_for)))


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_runner_killed_mid_step_is_reconciled_and_its_missed_slot_caught_up(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    notebook(root / "hold.ipynb", HOLD)
    ws = Workspace.resolve(root)
    cron = "* * * * * */5"  # every 5 seconds
    schedule = create_schedule("hold.ipynb", cron, catch_up="latest", workspace=ws)
    flag = root / "hold.flag"
    flag.touch()
    runner = start_scheduler(root, tmp_path / "runner.log")
    try:
        def running_step() -> StepRunRow | None:
            with ws.session() as session:
                return session.scalars(select(StepRunRow).where(
                    StepRunRow.status == "running", StepRunRow.kernel_pid.is_not(None))).first()

        step = wait_for(running_step, 90, "the scheduled run to be running")
    finally:
        runner.kill()  # SIGKILL: no atexit, no cleanup: a crash
        runner.wait()
    killed_at = utcnow()
    # its worker notices and takes the kernel down with it
    wait_for(lambda: not pid_alive(step.kernel_pid), 10, "the orphaned kernel to exit")
    flag.unlink()
    with ws.session() as session:
        pending_slot = as_utc(session.get(ScheduleRow, schedule.id).next_fire_at)
    # let that slot pass while no scheduler runs: it is then more than the grace (1 s) late
    wait_for(lambda: (utcnow() - pending_slot).total_seconds() > 1.3, 15, "a missed slot")
    # the restarted runner: this process, with its shared executor
    reconciler = Scheduler(ws, executor=get_executor(), misfire_grace=1, sync_specs=False,
                           track=False, holder="reconciler")
    try:
        tick_at = utcnow()

        def tick() -> dict | None:
            nonlocal tick_at
            tick_at = utcnow()
            report = reconciler.tick()
            return report if report["leader"] else None

        report = wait_for(tick, 10, "the lease")  # the dead runner's lease expires (2 s)
        assert report["reconciled"] == [step.run_id]
        late = [s for s in slots_between(cron, "UTC", pending_slot, tick_at)
                if (tick_at - s).total_seconds() > 1]
        catch_up = [r for r in rows(ws, schedule.id)  # (a loaded runner may have queued some)
                    if r.trigger == "catch_up" and as_utc(r.created) > killed_at]
        assert len(catch_up) == 1 and as_utc(catch_up[0].scheduled_for) == late[-1], [
            (r.id, r.trigger, r.status, r.scheduled_for, r.created, r.error)
            for r in rows(ws, schedule.id)] + [step.run_id, late, tick_at, pending_slot]
        wait_for(lambda: reconciler.tick() and all(
            r.status not in ("queued", "running") for r in rows(ws, schedule.id)
            if r.id == catch_up[0].id), 60, "the catch-up run to finish")
    finally:
        reconciler.release_lease()
    with ws.session() as session:
        dead = session.get(PipelineRunRow, step.run_id)
        dead_step = session.scalars(select(StepRunRow).where(
            StepRunRow.run_id == step.run_id)).one()
        caught_up = session.get(PipelineRunRow, catch_up[0].id)
    assert dead.status == "failed" and "Reconciled" in dead.error and "is gone" in dead.error
    assert f"pid {dead.owner_pid}" in dead.error and as_utc(dead.finished) >= killed_at
    assert dead_step.status == "failed" and dead_step.error_ename == "RunnerDied"
    assert caught_up.status == "succeeded", caught_up.error
    if len(late) > 1:
        missed = list_events(ws, kind="pipeline.schedule.missed")[0]
        assert missed.data["missed"] == len(late) - 1 and missed.data["policy"] == "latest"


def test_two_schedulers_on_one_database_fire_each_slot_exactly_once(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    notebook(root / "tick.ipynb", "y = x + 1")
    ws = Workspace.resolve(root)
    procs = [start_scheduler(root, tmp_path / f"s{i}.log") for i in range(2)]
    try:
        # the leader spawns its worker and kernel when it takes the lease: let it settle
        wait_for(lambda: list_events(ws, kind="pipeline.scheduler"), 60, "a leader")
        time.sleep(1)
        schedule = create_schedule("tick.ipynb", "* * * * * *", catch_up="backfill",
                                   max_backfill=100, workspace=ws)
        wait_for(lambda: len(rows(ws, schedule.id)) >= 3, 60, "the first slots to fire")
        time.sleep(3)
        with ws.session() as session:
            holder = session.get(LeaseRow, "scheduler").holder
        leader_pid = int(holder.split(":")[1])
        leader = next(p for p in procs if p.pid == leader_pid)
        leader.kill()  # the leader dies without releasing its lease
        leader.wait()
        killed_at = utcnow()
        wait_for(lambda: any(as_utc(r.created) > killed_at + timedelta(seconds=1)
                             for r in rows(ws, schedule.id)), 30, "the other scheduler")
        time.sleep(2)
    finally:
        for proc in procs:
            stop(proc)
    fired = rows(ws, schedule.id)
    slots = [as_utc(r.scheduled_for) for r in fired]
    assert len(slots) == len(set(slots))  # never twice
    expected = slots_between("* * * * * *", "UTC", slots[0], slots[-1])
    assert slots == expected  # never missed, takeover gap included (backfilled)
    assert len(slots) >= 8
    holders = {e.data["holder"] for e in list_events(ws, kind="pipeline.scheduler")}
    assert len(holders) == 2  # the lease moved to the survivor
    statuses = {r.status for r in fired}
    assert statuses <= {"succeeded", "skipped", "queued", "failed", "cancelled"}
    assert "succeeded" in statuses, [(r.trigger, r.status, r.error) for r in fired][:20] + [
        (tmp_path / "s0.log").read_text()[-3000:]]
    with ws.session() as session:
        left = session.scalars(select(PipelineRunRow).where(
            PipelineRunRow.status == "running")).all()
    assert left == []  # the dead leader's run was reconciled, the survivor's cancelled at exit

