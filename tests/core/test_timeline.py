"""The workspace timeline over real stores: an MLflow run, dataset snapshots, a registered
model with an alias move and a gate, a papermill pipeline run, a drift check and notes —
one newest-first list, filtered by kind and time, paged, without echoing an event twice,
and with a fixed number of state-DB queries however many rows there are."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.drift import drift
from jupyter_mlops.core.errors import InvalidInput
from jupyter_mlops.core.events import record_event
from jupyter_mlops.core.timeline import TIMELINE_KINDS, timeline, timeline_page
from jupyter_mlops.core.workspace import Workspace

NOTEBOOK = {
    "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1",
               "outputs": [], "execution_count": None, "id": "c1"},
              {"cell_type": "code", "metadata": {}, "source": "y = x + 1", "outputs": [],
               "execution_count": None, "id": "c2"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def seeded(module_ws: Workspace) -> dict:
    """One of each kind, made through each capability's own API."""
    from sklearn.linear_model import LogisticRegression

    from jupyter_mlops.core.pipelines import run_pipeline
    from jupyter_mlops.core.registry import gate, register_model, set_alias
    from jupyter_mlops.core.tracking import start_run

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (x["a"] + rng.normal(scale=0.5, size=300)) > 0
    train = D.snapshot(x.assign(label=y), "train", workspace=module_ws)
    holdout = D.snapshot(x.assign(label=y).iloc[:100], "holdout", workspace=module_ws)
    with start_run("exp", name="fit", workspace=module_ws) as run:
        run.log(acc=0.9)
    model = LogisticRegression().fit(x, y)
    v1 = register_model(model, "clf", dataset=f"train@{train.version}", target="label",
                        workspace=module_ws)
    set_alias("clf", "challenger", v1.version, workspace=module_ws)
    result = gate("clf", "challenger", "champion", dataset=f"holdout@{holdout.version}",
                  target="label", promote=True, workspace=module_ws)
    drift(x, x.assign(a=x["a"] + 3), workspace=module_ws, record=True)
    (module_ws.root / "step.ipynb").write_text(json.dumps(NOTEBOOK))
    pipeline = run_pipeline("step.ipynb", workspace=module_ws, track=False)
    record_event(module_ws, "note", "Started the A/B test", subject="clf")
    return {"run_id": run.id, "train": train, "gate": result, "pipeline": pipeline.id}


def test_every_kind_in_one_newest_first_list(module_ws, seeded) -> None:
    items = timeline(workspace=module_ws)
    kinds = {i.kind for i in items}
    assert {"run", "dataset", "pipeline_run", "gate", "alias", "drift_check",
            "event"} <= kinds
    times = [i.time for i in items]
    assert times == sorted(times, reverse=True)
    assert all(i.time.tzinfo is not None for i in items)

    by_kind = {k: [i for i in items if i.kind == k] for k in kinds}
    run = next(i for i in by_kind["run"] if i.ref["id"] == seeded["run_id"])
    assert run.ref["kind"] == "run" and run.ref["experiment_id"] and run.status == "finished"
    snapshot = next(i for i in by_kind["dataset"] if i.subject == "train")
    assert snapshot.ref == {"kind": "dataset", "name": "train",
                            "version": seeded["train"].version}
    gate_item = by_kind["gate"][0]
    assert gate_item.status == "passed" and gate_item.ref["id"] == seeded["gate"].id
    assert gate_item.ref["name"] == "clf"
    aliases = {(i.ref["alias"], i.ref["version"]) for i in by_kind["alias"]}
    assert ("challenger", 1) in aliases and ("champion", 1) in aliases
    pipeline = by_kind["pipeline_run"][0]
    assert pipeline.ref == {"kind": "pipeline_run", "id": seeded["pipeline"],
                            "pipeline": pipeline.ref["pipeline"]}
    assert pipeline.status == "succeeded"
    check = by_kind["drift_check"][0]
    assert check.status == "drift" and check.ref["kind"] == "drift_check"

    # events that echo a listed row are not listed twice; the rest are
    event_kinds = {i.status for i in by_kind["event"]}
    assert "note" in event_kinds
    assert not event_kinds & {"datasets.snapshot", "registry.alias", "registry.gate",
                              "drift.check"}


def test_filters_paging_and_bad_input(module_ws, seeded) -> None:
    only = timeline(kinds=["gate", "alias"], workspace=module_ws)
    assert only and {i.kind for i in only} <= {"gate", "alias"}
    assert {i.kind for i in timeline(kinds="dataset,event", workspace=module_ws)} == {
        "dataset", "event"}

    everything = timeline(workspace=module_ws)
    first = timeline_page(limit=3, workspace=module_ws)
    assert [i.id for i in first.items] == [i.id for i in everything[:3]]
    assert first.next_before == first.items[-1].time
    second = timeline_page(limit=3, before=first.next_before, workspace=module_ws)
    assert all(i.time < first.next_before for i in second.items)
    assert not {i.id for i in first.items} & {i.id for i in second.items}
    last = timeline_page(limit=1000, workspace=module_ws)
    assert last.next_before is None and last.unavailable == {}

    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert timeline(since=future, workspace=module_ws) == []
    assert timeline(since="1h", workspace=module_ws)  # a duration back from now
    assert len(timeline(until=everything[-1].time, workspace=module_ws)) >= 1

    with pytest.raises(InvalidInput, match="Unknown timeline kind"):
        timeline(kinds=["runs"], workspace=module_ws)
    with pytest.raises(InvalidInput, match="limit"):
        timeline(limit=0, workspace=module_ws)
    with pytest.raises(InvalidInput, match="since"):
        timeline(since="yesterday-ish", workspace=module_ws)


def test_one_query_per_source_however_many_rows(module_ws, seeded) -> None:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    state_kinds = [k for k in TIMELINE_KINDS if k != "run"]  # runs are MLflow's store
    event.listen(module_ws.engine, "before_cursor_execute", count)
    try:
        timeline(kinds=state_kinds, workspace=module_ws)
        few = len(statements)
        for i in range(60):
            D.snapshot(pd.DataFrame({"i": [i, i + 1]}), f"many-{i % 3}", workspace=module_ws)
            record_event(module_ws, "note", f"note {i}")
        statements.clear()
        started = time.perf_counter()
        items = timeline(kinds=state_kinds, limit=200, workspace=module_ws)
        elapsed = time.perf_counter() - started
    finally:
        event.remove(module_ws.engine, "before_cursor_execute", count)
    assert len(statements) == few <= len(state_kinds)
    assert len([i for i in items if i.kind == "dataset"]) >= 60
    assert elapsed < 2.0, f"the timeline took {elapsed:.2f}s"
