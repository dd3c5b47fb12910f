"""Pipelines run for real: papermill steps in worker processes, on fresh kernels.

One workspace and one executor (two workers, kernels started ahead of need)
for the module; notebooks are two or three tiny cells.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.core.errors import Conflict
from jupyter_mlops.core.pipelines.executor import LocalProcessExecutor, get_executor
from jupyter_mlops.core.pipelines.runs import PipelineRun, pid_alive, run_pipeline
from jupyter_mlops.core.workspace import Workspace

pytestmark = pytest.mark.slow

OUT = "from jupyter_mlops.core.pipelines.outputs import output\n"
HOLD = ("import os, time\n"
        "flag = os.path.join(os.environ['JUPYTER_MLOPS_WORKSPACE'], hold)\n"
        "deadline = time.time() + 60\n"
        "while os.path.exists(flag) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n")


def notebook(path: Path, params: str, *cells: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(params, metadata={"tags": ["parameters"]}),
                                       *[new_code_cell(c) for c in cells]]), path)
    return path.name


@pytest.fixture(scope="module")
def pws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.resolve(tmp_path_factory.mktemp("pipelines-run"))
    root = ws.root
    notebook(root / "prepare.ipynb", "n = 3", OUT + "output('rows', n * 10)")
    notebook(root / "nb" / "train.ipynb", "rows = 0\nepochs = 1",
             OUT + "import os\n"
                   "assert rows == 30, rows\n"
                   "output('score', rows / epochs)\n"
                   "output('cwd', os.getcwd())\n"
                   "output('parent', os.environ.get('JUPYTER_MLOPS_PARENT_RUN_ID'))\n"
                   "output('ws', os.environ.get('JUPYTER_MLOPS_WORKSPACE'))",
             "print('trained', epochs)")
    notebook(root / "report.ipynb", "score = 0.0", "print('score', score)")
    notebook(root / "fail.ipynb", "x = 1", "y = x + 1", "z = y / 0")
    notebook(root / "ok.ipynb", "x = 1", "y = x")
    notebook(root / "sleep.ipynb", "seconds = 1.0", "import time\ntime.sleep(seconds)")
    notebook(root / "hold.ipynb", "hold = 'hold.flag'", HOLD)
    notebook(root / "flaky.ipynb", "marker = 'flaky.marker'",
             "import os\np = os.path.join(os.environ['JUPYTER_MLOPS_WORKSPACE'], marker)\n"
             "first = not os.path.exists(p)\nopen(p, 'w').close()",
             "assert not first, 'first attempt fails'")
    notebook(root / "stubborn.ipynb", "x = 1",
             "import atexit, time\natexit.register(time.sleep, 30)  # ignores shutdown")
    (root / "train.pipeline.yaml").write_text("""\
name: train
parameters:
  n: {type: int, default: 3}
  epochs: {type: int, default: 2}
steps:
  - name: prepare
    notebook: prepare.ipynb
    parameters: {n: "${params.n}"}
  - name: train
    notebook: nb/train.ipynb
    parameters:
      rows: ${steps.prepare.outputs.rows}
      epochs: ${params.epochs}
  - name: report
    notebook: report.ipynb
    parameters: {score: "${steps.train.outputs.score}"}
""")
    (root / "branches.pipeline.yaml").write_text("""\
steps:
  - {name: a, notebook: fail.ipynb}
  - {name: b, notebook: ok.ipynb, depends_on: [a]}
  - {name: c, notebook: ok.ipynb}
""")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def executor() -> LocalProcessExecutor:
    """The process's shared executor (two workers, one pre-started kernel each), as
    `run_pipeline` uses by default; other test modules reuse it."""
    ex = get_executor()
    assert isinstance(ex, LocalProcessExecutor)
    ex.wait_ready(120)
    return ex


def spec(ws: Workspace, name: str, text: str) -> str:
    (ws.root / name).write_text(text)
    return name


def test_three_steps_pass_parameters_and_outputs_downstream_with_mlflow(pws, executor):
    events = []
    run = run_pipeline("train.pipeline.yaml", {"epochs": "3"}, workspace=pws, executor=executor,
                       on_event=events.append)
    info = run.info()
    assert info.status == "succeeded", info.error
    steps = {s.name: s for s in info.steps}
    assert [s.name for s in info.steps] == ["prepare", "train", "report"]
    assert steps["prepare"].outputs == {"rows": 30}
    assert steps["train"].parameters == {"rows": 30, "epochs": 3}
    assert steps["train"].outputs["score"] == 10.0
    assert steps["report"].parameters == {"score": 10.0}
    # the kernel (pre-started before the step was known) got the step's folder and workspace
    assert steps["train"].outputs["cwd"] == str(pws.root / "nb")
    assert steps["train"].outputs["ws"] == str(pws.root)
    for step in info.steps:
        assert step.cells_total and step.cells_done == step.cells_total
        assert step.started and step.finished and step.duration_s is not None
    out = pws.root / steps["train"].output_notebook
    assert out.parent == pws.runs_dir / run.id
    executed = nbformat.read(out, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "rows = 30" in injected[0].source
    assert "trained 3" in (pws.root / steps["train"].log_path).read_text()
    assert any(e.get("type") == "progress" and e.get("step") == "train" for e in events)
    # MLflow: a parent run for the pipeline, a nested run per step with its notebook
    assert steps["train"].outputs["parent"] == steps["train"].mlflow_run_id
    client = pws.mlflow.client
    parent = client.get_run(info.mlflow_run_id)
    assert parent.info.status == "FINISHED" and parent.data.params["epochs"] == "3"
    child = client.get_run(steps["train"].mlflow_run_id)
    assert child.data.tags["mlflow.parentRunId"] == info.mlflow_run_id
    assert child.data.params == {"rows": "30", "epochs": "3"}
    assert "notebook" in [a.path for a in client.list_artifacts(child.info.run_id)]


def test_a_failing_cell_is_reported_and_downstream_is_skipped(pws, executor):
    run = run_pipeline("branches.pipeline.yaml", workspace=pws, executor=executor, track=False)
    info = run.info()
    assert info.status == "failed"
    steps = {s.name: s for s in info.steps}
    error = steps["a"].error
    assert steps["a"].status == "failed"
    assert error["cell_index"] == 2 and error["ename"] == "ZeroDivisionError"
    assert "division by zero" in error["evalue"] and "ZeroDivisionError" in error["traceback"]
    assert steps["b"].status == "skipped" and "upstream step 'a'" in steps["b"].error["message"]
    assert steps["c"].status == "succeeded"  # an independent branch still runs
    assert "step 'a' failed" in info.error
    assert (pws.root / steps["a"].output_notebook).is_file()  # saved up to the failure


def test_retries_run_the_step_again(pws, executor):
    path = spec(pws, "flaky.pipeline.yaml",
                "steps:\n  - {name: flaky, notebook: flaky.ipynb, retries: 2}\n")
    run = run_pipeline(path, workspace=pws, executor=executor, track=False)
    step = run.step("flaky")
    assert run.status == "succeeded" and step.attempt == 2
    assert (run.folder / "flaky.attempt1.ipynb").is_file()
    assert (run.folder / "flaky.ipynb").is_file()


def test_a_timeout_kills_the_kernel(pws, executor):
    path = spec(pws, "slow.pipeline.yaml",
                "steps:\n  - {name: slow, notebook: sleep.ipynb, timeout: 1,"
                " parameters: {seconds: 60}}\n")
    started = time.monotonic()
    run = run_pipeline(path, workspace=pws, executor=executor, track=False)
    assert time.monotonic() - started < 20
    step = run.step("slow")
    assert step.status == "failed" and step.error["ename"] == "Timeout"
    assert "timed out after 1 s" in step.error["message"] and step.error["cell_index"] == 2
    with pws.session() as session:
        from jupyter_mlops.core.db.pipeline_models import StepRunRow

        pid = session.query(StepRunRow.kernel_pid).filter_by(run_id=run.id).scalar()
    assert pid and not pid_alive(pid)


def test_cancel_stops_the_running_kernel_and_pending_steps(pws, executor):
    flag = pws.root / "hold.flag"
    flag.touch()
    path = spec(pws, "cancel.pipeline.yaml",
                "steps:\n  - {name: hold, notebook: hold.ipynb}\n"
                "  - {name: after, notebook: ok.ipynb, depends_on: [hold]}\n")
    try:
        run = run_pipeline(path, workspace=pws, executor=executor, track=False, wait=False)
        deadline = time.monotonic() + 30
        while run.step("hold").current_cell != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        hold = run.step("hold")  # per-cell progress is recorded while the step runs
        assert (hold.status, hold.cells_done, hold.cells_total) == ("running", 1, 2)
        run.cancel("test cancel")
        run.wait(30)
    finally:
        flag.unlink(missing_ok=True)
    info = run.info()
    steps = {s.name: s for s in info.steps}
    assert info.status == "cancelled" and "test cancel" in info.error
    assert steps["hold"].status == "cancelled" and steps["after"].status == "cancelled"
    with pws.session() as session:
        from jupyter_mlops.core.db.pipeline_models import StepRunRow

        pid = session.query(StepRunRow.kernel_pid).filter_by(run_id=run.id, name="hold").scalar()
    assert pid and not pid_alive(pid)


def test_concurrency_forbid_refuses_and_replace_cancels(pws, executor):
    flag = pws.root / "hold.flag"
    flag.touch()
    forbid = spec(pws, "forbid.pipeline.yaml", "steps:\n  - {name: hold, notebook: hold.ipynb}\n")
    replace = spec(pws, "replace.pipeline.yaml",
                   "concurrency: replace\nsteps:\n  - {name: hold, notebook: hold.ipynb}\n")
    try:
        first = run_pipeline(forbid, workspace=pws, executor=executor, track=False, wait=False)
        with pytest.raises(Conflict) as info:
            run_pipeline(forbid, workspace=pws, executor=executor, track=False, wait=False)
        assert first.id in info.value.message and "forbid" in info.value.message
        first.cancel()
        first.wait(30)
        old = run_pipeline(replace, workspace=pws, executor=executor, track=False, wait=False)
        new = run_pipeline(replace, workspace=pws, executor=executor, track=False, wait=False)
        old.wait(30)
        assert old.status == "cancelled" and "replaced by run" in old.error
        flag.unlink()
        new.wait(30)
        assert new.status == "succeeded"
    finally:
        flag.unlink(missing_ok=True)


def test_independent_steps_run_in_parallel(pws, executor):
    path = spec(pws, "parallel.pipeline.yaml",
                "steps:\n  - {name: one, notebook: sleep.ipynb, parameters: {seconds: 1}}\n"
                "  - {name: two, notebook: sleep.ipynb, parameters: {seconds: 1}}\n")
    executor.wait_ready(60)
    run = run_pipeline(path, workspace=pws, executor=executor, track=False)
    one, two = run.steps
    assert run.status == "succeeded"
    assert one.started < two.finished and two.started < one.finished  # they overlapped


def test_a_kernel_that_ignores_shutdown_costs_the_run_nothing(pws, executor):
    """The ≈3 s straggler of jupyter_client: retiring a kernel never blocks the runner."""
    path = spec(pws, "stubborn.pipeline.yaml",
                "steps:\n  - {name: stubborn, notebook: stubborn.ipynb}\n")
    executor.wait_ready(60)
    started = time.monotonic()
    run = run_pipeline(path, workspace=pws, executor=executor, track=False)
    took = time.monotonic() - started
    assert run.status == "succeeded"
    assert took < 5.0, took  # the kernel sleeps 30 s in its atexit handler
    with pws.session() as session:
        from jupyter_mlops.core.db.pipeline_models import StepRunRow

        pid = session.query(StepRunRow.kernel_pid).filter_by(run_id=run.id).scalar()
    deadline = time.monotonic() + executor.kernel_grace + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)  # killed by the reaper after the grace period (5 s)


def test_a_bare_notebook_runs_and_another_process_sees_the_run(pws, executor):
    run = run_pipeline("nb/train.ipynb", {"rows": 30, "epochs": 5}, workspace=pws,
                       executor=executor, track=False)
    assert run.status == "succeeded"
    again = PipelineRun(run.id, Workspace.resolve(pws.root))  # a fresh view, as another process
    assert again.step("train").outputs["score"] == 6.0 and again.info().pipeline == "nb/train.ipynb"
    assert os.path.isdir(again.folder)
