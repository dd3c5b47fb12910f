"""`%drift` and `drift_explorer()` in a real IPython shell with the extension loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import objects
from jupyter_mlops.core.drift import DriftReport, list_checks


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.delenv(objects.ENV_OBJECTS_URL, raising=False)
    monkeypatch.setattr(jupyter_mlops, "_current", None)
    workspace = jupyter_mlops.workspace(str(tmp_path / "root"))
    yield workspace
    workspace.close()
    monkeypatch.setattr(jupyter_mlops, "_current", None)


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    existed = InteractiveShell.initialized()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    yield ip
    if not existed:
        InteractiveShell.clear_instance()


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"age": rng.normal(40, 10, 2000), "plan": rng.choice(list("abc"), 2000)})
    cur = pd.DataFrame({"age": rng.normal(48, 10, 2000), "plan": rng.choice(list("abc"), 2000)})
    return ref, cur


def run(shell, code: str):
    result = shell.run_cell(code)
    return result


def test_drift_magic_on_notebook_variables_shows_the_report(shell, ws):
    ref, cur = frames()
    shell.user_ns.update(ref_df=ref, cur_df=cur)
    result = run(shell, "%drift ref_df cur_df --columns age,plan --test plan=psi "
                        "--threshold psi=0.2")
    assert result.success, result.error_in_exec
    report = result.result
    assert isinstance(report, DriftReport)
    assert report["age"].drifted is True and report["plan"].test == "psi"
    assert report["plan"].threshold == 0.2
    html = report._repr_html_()
    assert "age" in html and "drift" in html
    assert list_checks(workspace=ws) == []  # DataFrames alone are not recorded


def test_drift_magic_on_dataset_versions_records_the_check(shell, ws):
    ref, cur = frames()
    D.snapshot(ref, "people", tags=["baseline"])
    D.snapshot(cur, "people")
    result = run(shell, "%drift people@baseline people --mode sketch")
    assert result.success, result.error_in_exec
    report = result.result
    assert report.options["reference_mode"] == "sketch"
    assert report["age"].approximate and report["age"].drifted
    checks = list_checks(workspace=ws)
    assert len(checks) == 1 and checks[0].reference.startswith("people@")
    assert checks[0].origin == "magic"


@pytest.mark.parametrize(("line", "message"), [
    ("%drift only_one", "required: current"),
    ("%drift ref_df nope", "No dataset named 'nope'"),
    ("%drift ref_df cur_df --test age=psi --test chi2", "not both"),
    ("%drift ref_df cur_df --test age=magic", "choose from"),
    ("%drift ref_df cur_df --threshold psi=high", "not a number"),
    ("%drift ref_df cur_df --columns nope", "columns not in either frame"),
])
def test_drift_magic_usage_errors_are_one_line(shell, ws, line, message):
    ref, cur = frames()
    shell.user_ns.update(ref_df=ref, cur_df=cur)
    result = run(shell, line)
    assert not result.success
    error = result.error_in_exec or result.error_before_exec
    assert type(error).__name__ == "UsageError"
    assert message in str(error)


def test_explorer_switches_between_the_overview_and_a_column(shell, ws):
    ref, cur = frames()
    report = jupyter_mlops.drift(ref, cur)
    box = jupyter_mlops.drift_explorer(report)
    assert list(box.picker.options) == ["(all columns)", "age", "plan"]
    shown = box.output.outputs
    assert shown and "application/vnd.plotly.v1+json" in shown[-1]["data"]
    box.picker.value = "age"
    figure = box.output.outputs[-1]["data"]["application/vnd.plotly.v1+json"]
    assert [t["name"] for t in figure["data"]] == ["reference", "current"]
    assert "age" in box.children[2].value and "drift" in box.children[2].value


def test_explorer_from_the_magic_and_from_a_check_id(shell, ws):
    ref, cur = frames()
    D.snapshot(ref, "people")
    D.snapshot(cur, "people")
    result = run(shell, "%drift people@" + D.list_versions("people")[1].short + " people --plot")
    assert result.success, result.error_in_exec
    assert hasattr(result.result, "picker")
    box = jupyter_mlops.drift_explorer(list_checks(workspace=ws)[0].id)
    assert "age" in box.picker.options
