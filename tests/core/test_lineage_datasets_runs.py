"""A snapshot or load inside a run is recorded on the run as an MLflow dataset input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jupyter_mlops.core.datasets import load_dataset, snapshot
from jupyter_mlops.core.tracking import get_run, start_run
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.slow


def test_snapshot_and_load_inside_a_run_are_its_inputs(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})
    outside = snapshot(frame, "outside", workspace=ws)
    with start_run(experiment="lineage", workspace=ws) as run:
        made = snapshot(frame.assign(x=frame.x * 2), "train", workspace=ws)
        load_dataset("outside", workspace=ws)
    detail = get_run(run.id, workspace=ws).to_dict()
    inputs = {(i["name"], i["digest"], i["context"]) for i in detail["inputs"]}
    assert ("train", made.version, "snapshot") in inputs
    assert ("outside", outside.version, "training") in inputs
    ws.close()
