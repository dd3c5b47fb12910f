"""`%%track`, `log()`, the runs table and metric charts in a real IPython shell."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mlops
from jupyter_mlops.core.errors import Conflict
from jupyter_mlops.core.tracking import active_run, get_run, last_run, start_run
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.tracking_magics import (
    TrackingMagics,
    log,
    metric_history_figure,
    render_runs_html,
    runs_command,
    runs_table,
)


@pytest.fixture(scope="module")
def ws(module_ws: Workspace) -> Workspace:
    return module_ws


@pytest.fixture(autouse=True)
def current_workspace(ws, monkeypatch, tmp_path):
    """Magics use the process's workspace: point it at the test store, then restore."""
    for name in ("JUPYTER_MLOPS_NOTEBOOK", "JPY_SESSION_NAME", "JUPYTER_MLOPS_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(jupyter_mlops, "_current", ws)
    monkeypatch.chdir(tmp_path)
    yield
    assert active_run() is None
    assert not Path("mlruns").exists()


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    existed = InteractiveShell.initialized()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.register_magics(TrackingMagics)
    yield ip
    if not existed:
        InteractiveShell.clear_instance()


def test_track_logs_named_variables_and_log_calls(shell, ws):
    cell = ("%%track --experiment magic --name cell-1 --log acc,n_rows -p depth=3\n"
            "from jupyter_mlops.tracking_magics import log\n"
            "acc = 0.875\n"
            "n_rows = 120\n"
            "label = 'not logged'\n"
            "for step in range(3):\n"
            "    log(loss=1 / (step + 1))\n")
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec
    run = last_run()
    detail = get_run(run.id, ws)
    assert detail.run.status == "FINISHED" and detail.run.name == "cell-1"
    assert detail.run.metrics == {"acc": 0.875, "n_rows": 120.0, "loss": pytest.approx(1 / 3)}
    assert detail.run.params == {"depth": "3"}
    assert shell.user_ns["acc"] == 0.875  # the cell ran in the user's namespace


def test_failing_cell_marks_the_run_failed_and_fails_the_cell(shell, ws):
    result = shell.run_cell("%%track --experiment magic\nx = 1\nraise RuntimeError('bad data')\n")
    assert not result.success  # papermill must stop here too
    assert "FAILED" in str(result.error_in_exec)
    detail = get_run(last_run().id, ws)
    assert detail.run.status == "FAILED"
    assert "bad data" in detail.all_tags["mlops.error"]


def test_unloggable_variables_are_reported_after_the_run_finishes(shell, ws):
    result = shell.run_cell("%%track --experiment magic --log ok,text,missing\nok = 1\n"
                            "text = 'x'\n")
    assert not result.success
    message = str(result.error_in_exec)
    assert "'text'" in message and "'missing'" in message
    detail = get_run(last_run().id, ws)
    assert detail.run.status == "FINISHED" and detail.run.metrics == {"ok": 1.0}


def test_bad_magic_line_is_a_usage_error(shell):
    result = shell.run_cell("%%track --no-such-option\nnever_ran = 1\n")
    assert not result.success and "no-such-option" in str(result.error_in_exec)
    assert "never_ran" not in shell.user_ns


def test_log_without_active_run():
    with pytest.raises(Conflict, match="No active run"):
        log(acc=1.0)


def test_runs_table_and_figure(ws):
    with start_run("table", name="a<b>", params={"model": "rf"}, workspace=ws) as first:
        for i in range(4):
            first.log(acc=i / 10)
    with start_run("table", name="second", params={"model": "gbm"}, workspace=ws) as second:
        second.log(acc=0.9)
    widget = runs_table("table", page_size=1, workspace=ws)
    column, descending, restart, more = widget.children[0].children
    table = widget.children[1]
    assert second.id in table.value and first.id not in table.value  # newest first, one per page
    assert "metrics.acc" in [label for label, _ in column.options]
    more.click()
    assert first.id in table.value and "a&lt;b&gt;" in table.value  # escaped
    column.value = "metrics.`acc`"
    descending.value = False
    assert first.id in table.value  # lowest acc first
    assert runs_command(["--experiment", "table"], workspace=ws).children[1].value.count(
        "data-mlops-run-id=") >= 4
    assert "No runs" in render_runs_html([])

    fig = metric_history_figure(first.id, "acc", workspace=ws)
    assert list(fig.data[0].x) == [0, 1, 2, 3]
    assert list(fig.data[0].y) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    both = metric_history_figure([first.id, second.id], ["acc"], workspace=ws)
    assert len(both.data) == 2
