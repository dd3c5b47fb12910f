"""The pipelines routes through the real Jupyter server, with real papermill runs.

Tiny notebooks are written into the server's root: a three-step pipeline
(`prepare` → `train` → `report`) with a parameter and an upstream output runs
over REST on the server's executor; its steps, their per-cell progress and the
executed notebooks are read back; a run is cancelled while its kernel works,
another re-run; schedules are created, paused, resumed, fired by the in-server
scheduler; bad input gets a 4xx naming the problem; stopping the server leaves
no scheduler thread, worker process or kernel behind.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from mlops_rest import call

pytestmark = [pytest.mark.usefixtures("jp_serverapp"), pytest.mark.slow]

OUT = "from jupyter_mlops.core.pipelines.outputs import output\n"
HOLD = ("import os, time\n"
        "flag = os.path.join(os.environ['JUPYTER_MLOPS_WORKSPACE'], hold)\n"
        "deadline = time.time() + 90\n"
        "while os.path.exists(flag) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n")
TRAIN = """\
name: train
description: prepare, train, report
parameters:
  n: {type: int, default: 3}
  epochs: {type: int, default: 2, description: passes over the data}
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
"""


def notebook(path: Path, params: str, *cells: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(params, metadata={"tags": ["parameters"]}),
                                       *[new_code_cell(c) for c in cells]]), path)


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    notebook(jp_root_dir / "prepare.ipynb", "n = 1", OUT + "output('rows', n * 10)")
    notebook(jp_root_dir / "nb" / "train.ipynb", "rows = 0\nepochs = 1",
             OUT + "score = rows / epochs\noutput('score', score)", "print('trained', epochs)")
    notebook(jp_root_dir / "report.ipynb", "score = 0.0", "print('score', score)")
    notebook(jp_root_dir / "hold.ipynb", "hold = 'hold.flag'", HOLD)
    notebook(jp_root_dir / "quick.ipynb", "x = 1\nlabel = 'a'", "y = x + 1")
    (jp_root_dir / "train.pipeline.yaml").write_text(TRAIN)
    return jp_root_dir


async def wait_run(jp_fetch, run_id: str, until=("succeeded", "failed", "cancelled"),
                   timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, run = await call(jp_fetch, "pipelines/runs", run_id)
        assert code == 200, run
        if run["status"] in until or time.monotonic() > deadline:
            return run
        await asyncio.sleep(0.2)


async def test_a_three_step_pipeline_runs_through_rest(jp_fetch, root) -> None:
    code, listing = await call(jp_fetch, "pipelines")
    assert code == 200, listing
    by_path = {p["path"]: p for p in listing["pipelines"]}
    assert by_path["train.pipeline.yaml"]["kind"] == "spec"
    assert by_path["train.pipeline.yaml"]["steps"] == 3
    assert by_path["nb/train.ipynb"]["kind"] == "notebook"

    code, detail = await call(jp_fetch, "pipelines/detail",
                              params={"path": "train.pipeline.yaml"})
    assert code == 200, detail
    assert [(p["name"], p["type"], p["default"]) for p in detail["parameters"]] == [
        ("n", "int", 3), ("epochs", "int", 2)]
    assert detail["graph"]["levels"] == [["prepare"], ["train"], ["report"]]
    assert ["prepare", "train"] in detail["graph"]["edges"]
    steps = {s["name"]: s for s in detail["steps"]}
    assert steps["train"]["depends_on"] == ["prepare"]  # implied by the output reference

    code, nb = await call(jp_fetch, "pipelines/detail", params={"path": "quick.ipynb"})
    assert code == 200 and nb["kind"] == "notebook"
    assert [(p["name"], p["type"], p["default"]) for p in nb["parameters"]] == [
        ("x", "int", 1), ("label", "str", "a")]  # papermill's inspection of the cell

    code, run = await call(jp_fetch, "pipelines/runs", method="POST",
                           body={"pipeline": "train.pipeline.yaml",
                                 "parameters": {"epochs": "3"}})
    assert code == 201, run
    assert run["parameters"] == {"n": 3, "epochs": 3}
    assert [s["name"] for s in run["steps"]] == ["prepare", "train", "report"]
    run = await wait_run(jp_fetch, run["id"])
    assert run["status"] == "succeeded", run["error"]
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["prepare"]["outputs"] == {"rows": 30}
    assert steps["train"]["parameters"] == {"rows": 30, "epochs": 3}
    assert steps["report"]["parameters"] == {"score": 10.0}
    for step in run["steps"]:
        assert step["status"] == "succeeded" and step["duration_s"] > 0
        assert step["cells_total"] and step["cells_done"] == step["cells_total"]
        assert step["output_notebook"] == f".mlops/runs/{run['id']}/{step['name']}.ipynb"

    code, executed = await call(jp_fetch, "pipelines/runs", run["id"], "steps/report/notebook")
    assert code == 200, executed
    assert executed["type"] == "notebook" and executed["writable"] is False
    assert executed["path"] == f"{run['id']}/report.ipynb"
    cells = executed["content"]["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "score = 10.0" in "".join(injected[0]["source"])
    printed = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert "score 10.0" in printed

    code, same = await call(jp_fetch, "pipelines/runs", run["id"], "files",
                            params={"path": "report.ipynb"})
    assert code == 200 and same["content"]["cells"] == executed["content"]["cells"]
    code, folder = await call(jp_fetch, "pipelines/runs", run["id"], "files")
    assert code == 200 and folder["type"] == "directory"
    assert {"prepare.ipynb", "train.ipynb", "report.ipynb"} <= {
        f["name"] for f in folder["content"]}
    code, log = await call(jp_fetch, "pipelines/runs", run["id"], "files",
                           params={"path": f"{run['id']}/prepare.log"})
    assert code == 200 and log["type"] == "file" and log["format"] == "text"

    code, listing = await call(jp_fetch, "pipelines")
    last = {p["path"]: p for p in listing["pipelines"]}["train.pipeline.yaml"]["last_run"]
    assert last["id"] == run["id"] and last["status"] == "succeeded"


async def test_cancel_rerun_and_paging(jp_fetch, root) -> None:
    flag = root / "hold.flag"
    flag.write_text("")
    code, held = await call(jp_fetch, "pipelines/runs", method="POST",
                            body={"pipeline": "hold.ipynb"})
    assert code == 201, held
    held = await wait_run(jp_fetch, held["id"], until=("running",))
    deadline = time.monotonic() + 60
    while held["steps"][0]["status"] != "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        held = (await call(jp_fetch, "pipelines/runs", held["id"]))[1]
    assert held["steps"][0]["status"] == "running"

    code, refused = await call(jp_fetch, "pipelines/runs", method="POST",
                               body={"pipeline": "hold.ipynb"})
    assert code == 409 and held["id"] in refused["message"]  # concurrency: forbid

    started = time.monotonic()
    code, cancelled = await call(jp_fetch, "pipelines/runs", held["id"], "cancel",
                                 method="POST")
    assert code == 200 and cancelled["cancel_requested"] is True
    cancelled = await wait_run(jp_fetch, held["id"], timeout=30)
    assert cancelled["status"] == "cancelled"
    assert time.monotonic() - started < 15  # the kernel was killed, not waited out
    assert cancelled["steps"][0]["status"] == "cancelled"
    assert flag.exists()  # the notebook did not finish its loop: it was stopped
    flag.unlink()

    code, first = await call(jp_fetch, "pipelines/runs", method="POST",
                             body={"pipeline": "quick.ipynb", "parameters": {"x": 41}})
    assert code == 201
    first = await wait_run(jp_fetch, first["id"])
    assert first["status"] == "succeeded" and first["parameters"] == {"x": 41}
    code, again = await call(jp_fetch, "pipelines/runs", first["id"], "rerun", method="POST")
    assert code == 201, again
    assert again["rerun_of"] == first["id"] and again["id"] != first["id"]
    again = await wait_run(jp_fetch, again["id"])
    assert again["status"] == "succeeded" and again["parameters"] == {"x": 41}
    assert again["steps"][0]["parameters"] == {"x": 41}

    code, page1 = await call(jp_fetch, "pipelines/runs", params={"limit": 2})
    assert code == 200 and [r["id"] for r in page1["runs"]] == [again["id"], first["id"]]
    assert page1["next_before"] == first["id"]
    code, page2 = await call(jp_fetch, "pipelines/runs",
                             params={"limit": 2, "before": page1["next_before"]})
    assert [r["id"] for r in page2["runs"]] == [held["id"]] and page2["next_before"] is None
    code, only = await call(jp_fetch, "pipelines/runs",
                            params={"pipeline": "hold.ipynb", "status": "cancelled"})
    assert [r["id"] for r in only["runs"]] == [held["id"]]


async def test_a_failing_step_reports_the_cell(jp_fetch, root) -> None:
    notebook(root / "boom.ipynb", "x = 1", "y = x + 1", "z = y / 0")
    code, run = await call(jp_fetch, "pipelines/runs", method="POST",
                           body={"pipeline": "boom.ipynb"})
    run = await wait_run(jp_fetch, run["id"])
    assert run["status"] == "failed"
    error = run["steps"][0]["error"]
    assert error["ename"] == "ZeroDivisionError" and "division by zero" in error["evalue"]
    assert error["cell_index"] is not None and "ZeroDivisionError" in error["traceback"]
    _, listing = await call(jp_fetch, "pipelines/runs", params={"pipeline": "boom.ipynb"})
    assert listing["runs"][0]["steps"][0]["error"]["traceback"] is None  # detail only


async def test_schedules_are_made_paused_resumed_and_fire(jp_fetch, root) -> None:
    code, made = await call(jp_fetch, "pipelines/schedules", method="POST",
                            body={"pipeline": "train.pipeline.yaml", "cron": "30 3 * * *",
                                  "timezone": "Europe/Paris", "parameters": {"epochs": 5}})
    assert code == 201, made
    assert len(made["upcoming"]) == 5 and made["paused"] is False
    paris = [datetime.fromisoformat(t).astimezone(ZoneInfo("Europe/Paris"))
             for t in made["upcoming"]]
    assert all((t.hour, t.minute) == (3, 30) for t in paris)
    assert made["next_fire_at"] == made["upcoming"][0]

    code, paused = await call(jp_fetch, "pipelines/schedules", str(made["id"]), "pause",
                              method="POST")
    assert code == 200 and paused["paused"] is True and paused["upcoming"] == []
    code, resumed = await call(jp_fetch, "pipelines/schedules", str(made["id"]), "resume",
                               method="POST")
    assert code == 200 and resumed["paused"] is False and len(resumed["upcoming"]) == 5

    code, changed = await call(jp_fetch, "pipelines/schedules", str(made["id"]),
                               method="PATCH", body={"cron": "0 12 * * 1"})
    assert code == 200 and changed["cron"] == "0 12 * * 1"
    assert all(datetime.fromisoformat(t).weekday() == 0 for t in changed["upcoming"])

    code, times = await call(jp_fetch, "pipelines/schedules/fire-times",
                             params={"cron": "0 9 * * *", "timezone": "America/New_York"})
    assert code == 200 and len(times["times"]) == 5
    assert all("T09:00:00-0" in t for t in times["local"])  # 9 am in New York, UTC-4/-5

    code, listing = await call(jp_fetch, "pipelines/schedules",
                               params={"pipeline": "train.pipeline.yaml"})
    assert [s["id"] for s in listing["schedules"]] == [made["id"]]

    # the in-server scheduler fires an every-second schedule on the server's executor
    code, fast = await call(jp_fetch, "pipelines/schedules", method="POST",
                            body={"pipeline": "quick.ipynb", "cron": "* * * * * *",
                                  "parameters": {"x": 7}})
    assert code == 201, fast
    deadline = time.monotonic() + 90
    fired: list[dict] = []
    while time.monotonic() < deadline and not any(r["status"] == "succeeded" for r in fired):
        await asyncio.sleep(0.3)
        fired = (await call(jp_fetch, "pipelines/runs",
                            params={"pipeline": "quick.ipynb"}))[1]["runs"]
    code, _ = await call(jp_fetch, "pipelines/schedules", str(fast["id"]), "pause",
                         method="POST")
    done = [r for r in fired if r["status"] == "succeeded"]
    assert done, fired
    assert done[0]["trigger"] == "schedule" and done[0]["schedule_id"] == fast["id"]
    assert done[0]["parameters"] == {"x": 7}

    code, gone = await call(jp_fetch, "pipelines/schedules", str(fast["id"]), method="DELETE")
    assert code == 200 and gone == {"deleted": fast["id"]}
    code, _ = await call(jp_fetch, "pipelines/schedules", str(fast["id"]))
    assert code == 404


@pytest.mark.parametrize(("name", "text", "line", "needle"), [
    ("syntax.pipeline.yaml", "name: x\nsteps:\n  - name: a\n     notebook: quick.ipynb\n", 4,
     "YAML syntax error: mapping values are not allowed here"),
    ("cycle.pipeline.yaml", ("steps:\n  - {name: a, notebook: quick.ipynb, depends_on: [b]}\n"
                             "  - {name: b, notebook: quick.ipynb, depends_on: [a]}\n"), 2,
     "cycle: a → b → a"),
    ("schema.pipeline.yaml", "steps:\n  - name: a\n    notebook: quick.ipynb\n    retries: -1\n",
     4, "retries"),
    ("outside.pipeline.yaml", "steps:\n  - {name: a, notebook: ../elsewhere.ipynb}\n", 2,
     "outside the workspace root"),
])
async def test_bad_specs_name_file_line_and_reason(jp_fetch, root, name, text, line,
                                                   needle) -> None:
    (root / name).write_text(text)
    code, error = await call(jp_fetch, "pipelines/detail", params={"path": name})
    assert code == 400, error
    assert f"{name}:{line}" in error["message"] and needle in error["message"]
    assert error["details"]["line"] == line
    code, checked = await call(jp_fetch, "pipelines/validate", method="POST",
                               body={"path": name})
    assert code == 200 and checked["valid"] is False
    assert checked["errors"][0]["file"] == name and checked["errors"][0]["line"] == line
    assert needle in checked["errors"][0]["reason"]
    code, refused = await call(jp_fetch, "pipelines/runs", method="POST",
                               body={"pipeline": name})
    assert code == 400 and needle in refused["message"]
    code, listing = await call(jp_fetch, "pipelines")
    listed = {p["path"]: p for p in listing["pipelines"]}[name]
    assert listed["error"]["line"] == line


async def test_validate_text_and_a_valid_spec(jp_fetch, root) -> None:
    code, ok = await call(jp_fetch, "pipelines/validate", method="POST",
                          body={"path": "train.pipeline.yaml"})
    assert code == 200 and ok["valid"] is True and ok["pipeline"]["name"] == "train"
    code, bad = await call(jp_fetch, "pipelines/validate", method="POST",
                           body={"text": "steps:\n  - {name: a, notebook: nope.ipynb}\n"})
    assert code == 200 and bad["valid"] is False and bad["errors"][0]["line"] == 2
    assert "not found" in bad["errors"][0]["reason"]


@pytest.mark.parametrize(("method", "parts", "body", "params", "status", "needle"), [
    ("POST", ("pipelines/runs",), {"pipeline": "train.pipeline.yaml",
                                   "parameters": {"epoch": 3}}, None, 400,
     "known parameters: epochs, n"),
    ("POST", ("pipelines/runs",), {"pipeline": "train.pipeline.yaml",
                                   "parameters": {"epochs": "many"}}, None, 400, "epochs must be"),
    ("POST", ("pipelines/runs",), {"pipeline": "../outside.ipynb"}, None, 400,
     "outside the workspace root"),
    ("POST", ("pipelines/runs",), {"pipeline": "missing.ipynb"}, None, 404, "no such file"),
    ("POST", ("pipelines/schedules",), {"pipeline": "quick.ipynb", "cron": "61 * * * *"}, None,
     400, "field 1 (minute) '61' is not valid"),
    ("POST", ("pipelines/schedules",), {"pipeline": "quick.ipynb", "cron": "* * *"}, None, 400,
     "has 3 field(s)"),
    ("POST", ("pipelines/schedules",), {"pipeline": "quick.ipynb", "cron": "0 * * * *",
                                        "timezone": "Mars/Olympus"}, None, 400,
     "unknown timezone"),
    ("POST", ("pipelines/schedules",), {"pipeline": "quick.ipynb", "cron": "0 * * * *",
                                        "parameters": {"z": 1}}, None, 400,
     "known parameters: label, x"),
    ("GET", ("pipelines/schedules/fire-times",), None, {"cron": "0 25 * * *"}, 400,
     "field 2 (hour)"),
    ("GET", ("pipelines/detail",), None, {"path": "/etc/passwd"}, 400, "outside the workspace"),
    ("GET", ("pipelines/runs/nope-123",), None, None, 404, "not found"),
    ("GET", ("pipelines/runs",), None, {"limit": 0}, 400, "limit"),
    ("PATCH", ("pipelines/schedules/999",), {"paused": True}, None, 404, "Schedule 999"),
    ("POST", ("pipelines/runs",), {"pipeline": "quick.ipynb", "colour": "red"}, None, 400,
     "colour: Extra inputs"),
])
async def test_bad_input_gets_a_clear_answer(jp_fetch, root, method, parts, body, params,
                                             status, needle) -> None:
    kwargs = {"params": params} if params else {}
    code, error = await call(jp_fetch, *parts, method=method, body=body, **kwargs)
    assert code == status, error
    assert needle in error["message"]
    assert "Traceback" not in json.dumps(error)


async def test_run_files_refuse_paths_outside_the_run(jp_fetch, root) -> None:
    code, run = await call(jp_fetch, "pipelines/runs", method="POST",
                           body={"pipeline": "quick.ipynb"})
    run = await wait_run(jp_fetch, run["id"])
    (root / ".mlops" / "runs" / "secret.txt").write_text("not yours")
    for path in ("../secret.txt", "../../state.db", "/etc/passwd", f"{run['id']}/../secret.txt"):
        code, error = await call(jp_fetch, "pipelines/runs", run["id"], "files",
                                 params={"path": path})
        assert code == 400 and "outside the folder of run" in error["message"], (path, error)
    code, error = await call(jp_fetch, "pipelines/runs", run["id"], "steps/nope/notebook")
    assert code == 404 and "no step 'nope'" in error["message"]


async def test_stopping_the_server_stops_scheduler_runs_and_workers(jp_fetch, jp_serverapp,
                                                                      root) -> None:
    from jupyter_mlops.core.pipelines import runs
    from jupyter_mlops.server.pipelines_service import PIPELINES_SETTING

    service = jp_serverapp.web_app.settings[PIPELINES_SETTING]
    assert service.scheduler is not None and service.scheduler._thread.is_alive()
    (root / "hold.flag").write_text("")
    _, held = await call(jp_fetch, "pipelines/runs", method="POST",
                         body={"pipeline": "hold.ipynb"})
    await wait_run(jp_fetch, held["id"], until=("running",))
    workers = service.executor.worker_pids()
    assert workers
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert not [t for t in threading.enumerate() if t.name in ("mlops-scheduler",
                                                                f"mlops-run-{held['id']}")]
    assert held["id"] not in runs._orchestrators
    for pid in workers:
        deadline = time.monotonic() + 10
        while runs.pid_alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not runs.pid_alive(pid), f"worker {pid} outlived the server"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [
            t for t in threading.enumerate() if t.name.startswith(("mlops-worker-",
                                                                   "mlops-executor-watch"))]:
        await asyncio.sleep(0.1)
    assert not [t.name for t in threading.enumerate()
                if t.name.startswith(("mlops-worker-", "mlops-executor-watch", "mlops-run-",
                                      "mlops-scheduler"))]
    info = runs.get_run_info(held["id"], service.workspace)
    assert info.status == "cancelled" and "server stopped" in (info.error or "")
