"""`jupyter mlops demo --no-lab` as CI runs it: the whole loop in a real subprocess.

One demo run for the module (about a minute on a quiet 2-core machine): it
must exit 0 having printed each stage, leave the record of every stage in the
workspace (runs, snapshots, pipeline runs, the gate, the alias history, the
canary's deployment events, the monitor's alert and the run it triggered),
and leave no process behind. The stage timings are printed in the test
output. The walkthrough notebook then runs the loop a second time in a real
kernel, against the same workspace.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.demo import STAGES

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def jupyter(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("JUPYTER_MLOPS_WORKSPACE", None)
    result = subprocess.run([str(BIN / "jupyter"), *args], env=env, text=True,
                            capture_output=True, timeout=timeout)
    result.stdout = ANSI.sub("", result.stdout)
    result.stderr = ANSI.sub("", result.stderr)
    return result


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line or environment names `text` (the workspace)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if state != "Z" and (text in cmdline or text in environ):
            found.append(f"{entry.name}: {cmdline[:160]}")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("demo") / "mlops-demo"
    started = time.monotonic()
    result = jupyter("mlops", "demo", str(root), "--no-lab")
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    marker = json.loads((root / ".mlops" / "demo.json").read_text())
    return {"root": root, "result": result, "wall": wall, "marker": marker}


@pytest.fixture(scope="module")
def ws(demo: dict) -> Workspace:
    workspace = Workspace.resolve(demo["root"])
    yield workspace
    workspace.close()


def test_the_loop_ran_and_each_stage_printed_its_time(demo: dict, capsys) -> None:
    result, marker = demo["result"], demo["marker"]
    assert marker["status"] == "complete"
    assert [s["title"] for s in marker["stages"]] == [title for title, _ in STAGES]
    for title, _ in STAGES:
        assert "✓" in result.stderr and title in result.stderr, title
        assert re.search(rf"\d+\.\d s  {re.escape(title)}", result.stdout), title
    assert "Demo workspace ready" in result.stdout and "Traceback" not in result.stderr
    with capsys.disabled():
        print(f"\n  demo stage timings (wall {demo['wall']:.1f} s for the whole command, "
              f"{marker['wall_s']:.1f} s for the loop):")
        for stage in marker["stages"]:
            print(f"    {stage['seconds']:6.1f} s  {stage['title']}")


def test_training_runs_and_snapshots_are_recorded(ws: Workspace) -> None:
    from jupyter_mlops.core.datasets import get_version, list_versions
    from jupyter_mlops.core.tracking import search_runs

    runs = search_runs(experiment="churn", workspace=ws).runs
    assert len(runs) == 2 and all(r.metrics.get("roc_auc", 0) > 0.6 for r in runs)
    assert len(list_versions("customers", ws)) >= 2
    assert len(list_versions("customers-holdout", ws)) >= 2
    reference = get_version("customers", "reference", ws)
    current = get_version("customers", "current", ws)
    assert reference.version != current.version and reference.rows > current.rows


def test_the_alert_triggered_the_retraining_run_and_it_succeeded(ws: Workspace) -> None:
    from jupyter_mlops.core.monitor import alerts, get_monitor
    from jupyter_mlops.core.pipelines import list_pipeline_runs

    runs = list_pipeline_runs(ws, pipeline="retrain.pipeline.yaml")
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    triggered, first = runs
    assert first.trigger == "manual" and triggered.trigger == "drift_alert"
    (alert,) = alerts(monitor="churn-api-drift", workspace=ws)
    assert alert.pipeline == "retrain.pipeline.yaml" and alert.trigger_id is not None
    assert {"monthly_charges", "support_calls"} <= set(alert.drifted_columns)
    data = triggered.trigger_detail["data"]["parameters"]
    assert data["alert_id"] == alert.id and data["window_start"] and data["window_end"]
    prepare = next(s for s in triggered.steps if s.name == "prepare")
    assert prepare.outputs["rows"] >= 500  # the drifted window, labelled
    checks = get_monitor("churn-api-drift", workspace=ws).history()
    assert checks[-1].status == "ok" and checks[0].status == "drift"
    assert checks[0].alert_id == alert.id


def test_the_gate_passed_and_the_canary_made_a_new_champion(ws: Workspace) -> None:
    from jupyter_mlops.core.deploy import get_deployment
    from jupyter_mlops.core.events import list_events
    from jupyter_mlops.core.registry import alias_history, list_gate_results

    second, first = list_gate_results("churn", workspace=ws)
    assert first.passed and first.champion is None and first.challenger == 1
    assert second.passed and (second.challenger, second.champion) == (2, 1)
    assert second.scores["challenger"]["roc_auc"] > second.scores["champion"]["roc_auc"]
    moves = [(m.from_version, m.to_version, m.via) for m in
             alias_history("churn", "champion", workspace=ws)]
    assert moves == [(1, 2, "promote"), (None, 1, "gate")]
    dep = get_deployment("churn-api", workspace=ws)
    assert dep.status == "stopped"
    roles = {v.key: v.role for v in dep.versions}
    assert roles.get("churn/2") == "stable"
    kinds = [e.kind for e in list_events(ws, kind="deploy")]
    assert "deploy.rollout" in kinds and "deploy.promote" in kinds
    rollout = next(e for e in list_events(ws, kind="deploy.promote"))
    assert "churn/2" in rollout.message


def test_no_process_is_left_running(demo: dict) -> None:
    assert processes_mentioning(str(demo["root"])) == []


def test_running_again_reuses_the_finished_demo(demo: dict) -> None:
    started = time.monotonic()
    again = jupyter("mlops", "demo", str(demo["root"]), "--no-lab", timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already holds a finished demo" in again.stdout
    assert time.monotonic() - started < 60
    assert processes_mentioning(str(demo["root"])) == []


def test_a_folder_that_is_not_a_demo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = jupyter("mlops", "demo", str(tmp_path), "--no-lab", timeout=120)
    assert result.returncode == 1
    assert "is not empty and is not a demo workspace" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_the_walkthrough_runs_the_loop_again(demo: dict, ws: Workspace) -> None:
    """The notebook a user runs in JupyterLab, in a real kernel; the scheduler the Jupyter
    server would run is started here."""
    import nbformat
    from nbclient import NotebookClient

    from jupyter_mlops.core.deploy import get_deployment
    from jupyter_mlops.core.pipelines.executor import LocalProcessExecutor
    from jupyter_mlops.core.pipelines.scheduler import Scheduler
    from jupyter_mlops.core.registry import alias_history

    root = demo["root"]
    executor = LocalProcessExecutor(max_workers=1, prestart_kernels=2).start()
    scheduler = Scheduler(ws, executor=executor, tick=0.25).start()
    nb = nbformat.read(root / "walkthrough.ipynb", as_version=4)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(root)}}).execute()
    finally:
        scheduler.stop()
        executor.shutdown()
        get_deployment("churn-api", workspace=ws).stop()
    moves = alias_history("churn", "champion", workspace=ws)
    assert (moves[0].from_version, moves[0].to_version) == (2, 3), moves[0]
    assert processes_mentioning(str(root)) == []


def test_an_unfinished_demo_is_cleared_and_a_finished_one_kept(tmp_path: Path) -> None:
    from jupyter_mlops.core.errors import InvalidInput
    from jupyter_mlops.demo.project import check_folder, folder_state, write_marker

    assert folder_state(tmp_path / "absent") == "new" and folder_state(tmp_path) == "new"
    write_marker(tmp_path, {"status": "running"})
    for name in ("welcome.ipynb", "train.ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "data").mkdir()
    assert folder_state(tmp_path) == "incomplete"
    assert check_folder(tmp_path, reset=False) == "create"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # only the demo's own
    write_marker(tmp_path, {"status": "complete"})
    assert check_folder(tmp_path, reset=False) == "reuse"
    assert (tmp_path / ".mlops").is_dir()
    assert check_folder(tmp_path, reset=True) == "create" and not (tmp_path / ".mlops").exists()
    with pytest.raises(InvalidInput, match="not a demo workspace"):
        check_folder(tmp_path, reset=True)  # notes.txt alone: not ours to clear


def test_health_is_green_on_the_demo_workspace(demo: dict) -> None:
    health = jupyter("mlops", "health", "--workspace", str(demo["root"]), timeout=300)
    assert health.returncode == 0, health.stdout + health.stderr
    assert health.stdout.count("[ok  ]") == 2


def _outputs_text(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.extend(str(out.data.get(kind, "")) for kind in
                             ("text/plain", "text/html", "application/vnd.plotly.v1+json"))
        texts.append("".join(parts))
    return texts


def test_the_welcome_notebook_runs_and_shows_its_workspace(demo: dict) -> None:
    """`%mlops` and the API in a real kernel see the demo's workspace and its records."""
    import nbformat
    from nbclient import NotebookClient

    root = demo["root"].resolve()
    nb = nbformat.read(root / "welcome.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}}).execute()
    info, health, api, datasets, version, report, figure, runs = _outputs_text(nb)
    assert f"root             {root}" in info
    assert health.count("[ok  ]") == 2, health
    assert f"'root': '{root}'" in api
    assert "reference" in datasets and "current" in datasets
    assert "DatasetVersion" in version or "customers" in version
    assert "drifted" in report.lower()
    assert "support_calls" in figure
