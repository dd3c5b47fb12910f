"""Pipeline specs: parsing, errors with file and line, parameters, references, the schema.

No kernels here: everything is checked before a notebook runs.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.core.errors import InvalidInput, NotFound, OutsideWorkspace
from jupyter_mlops.core.pipelines import outputs as outputs_module
from jupyter_mlops.core.pipelines.graph import build_graph
from jupyter_mlops.core.pipelines.outputs import ENV_STEP_OUTPUTS, output, read_outputs
from jupyter_mlops.core.pipelines.scheduler import next_fire_times, slots_between
from jupyter_mlops.core.pipelines.spec import (
    default_schema_path,
    load_spec,
    parse_cli_parameters,
    parse_spec_text,
    resolve_run_parameters,
    resolve_step_parameters,
    schema_text,
)
from jupyter_mlops.core.workspace import Workspace

GOOD = """\
name: train
description: three steps
parameters:
  epochs: {type: int, default: 3}
  rate: {type: float, default: 0.1}
  tag: {type: str}
steps:
  - name: prepare
    notebook: prepare.ipynb
  - name: train
    notebook: nb/train.ipynb
    parameters:
      epochs: ${params.epochs}
      rows: ${steps.prepare.outputs.rows}
      label: "run-${params.tag}-${steps.prepare.outputs.rows}"
    retries: 2
    timeout: 60
  - name: report
    notebook: report.ipynb
    depends_on: [train]
schedule: {cron: "0 3 * * *", timezone: Europe/Paris, catch_up: backfill, max_backfill: 3}
triggers:
  - dataset_snapshot: sales
concurrency: replace
"""


def notebook(path: Path, params: str = "x = 1", body: str = "y = x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[
        new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell(body)]), path)
    return path


@pytest.fixture
def pws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace.resolve(root)


def error_of(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse_spec_text(text, Path("train.pipeline.yaml"))
    return info.value


def test_good_spec_parses_with_implicit_dependencies_and_order():
    spec = parse_spec_text(GOOD, Path("train.pipeline.yaml"))
    graph = build_graph(spec)
    assert graph.order() == ["prepare", "train", "report"]
    assert graph.upstream["train"] == ["prepare"]  # implied by the output reference
    assert graph.levels() == [["prepare"], ["train"], ["report"]]
    assert spec.schedule.catch_up == "backfill" and spec.schedule.max_backfill == 3
    assert spec.triggers[0].kind == "dataset_snapshot" and spec.triggers[0].subject == "sales"
    assert spec.parameters["tag"].required and not spec.parameters["epochs"].required


@pytest.mark.parametrize("text, line, words", [
    ("name: [oops\n", 2, ["YAML syntax error"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\n    retries: -1\n", 4, ["retries"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\n    colour: red\n", 4,
     ["unknown field 'colour'"]),
    ("steps:\n  - name: a\n", 2, ["missing required field 'notebook'"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\n  - name: a\n    notebook: b.ipynb\n", 4,
     ["duplicate step name"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\n    depends_on: [zz]\n", 4,
     ["unknown step 'zz'", "steps: a"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\n    parameters: {x: '${params.nope}'}\n", 4,
     ["unknown pipeline parameter 'nope'"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\nschedule:\n  cron: '61 * * * *'\n", 4,
     ["minute", "'61'", "0-59"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\nschedule:\n  cron: '* * *'\n", 4,
     ["3 field(s)"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\nschedule:\n  cron: '@daily'\n"
     "  timezone: Mars/Base\n", 6, ["unknown timezone 'Mars/Base'"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\ntriggers:\n  - {}\n", 5, ["exactly one of"]),
    ("steps:\n  - name: a\n    notebook: a.ipynb\nsteps: []\n", 4, ["duplicate key 'steps'"]),
])
def test_malformed_specs_name_file_line_and_reason(text, line, words):
    error = error_of(text)
    assert error.details["file"] == "train.pipeline.yaml"
    assert error.details["line"] == line, error.message
    assert error.message.startswith(f"train.pipeline.yaml:{line}: ")
    for word in words:
        assert word in error.message


def test_a_cycle_is_named():
    error = error_of("steps:\n"
                     "  - {name: a, notebook: a.ipynb, depends_on: [c]}\n"
                     "  - {name: b, notebook: b.ipynb, depends_on: [a]}\n"
                     "  - {name: c, notebook: c.ipynb, parameters: {v: '${steps.b.outputs.v}'}}\n")
    assert "cycle" in error.message
    cycle = error.details["cycle"]
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert " → ".join(cycle) in error.message


def test_notebooks_outside_the_root_or_missing_are_refused(pws, tmp_path):
    notebook(tmp_path / "outside.ipynb")
    notebook(pws.root / "here.ipynb")
    spec_path = pws.root / "p.pipeline.yaml"
    spec_path.write_text("steps:\n  - name: a\n    notebook: ../outside.ipynb\n")
    with pytest.raises(InvalidInput) as info:
        load_spec(spec_path, pws)
    assert "outside the workspace" in info.value.message and ":3:" in info.value.message
    spec_path.write_text("steps:\n  - name: a\n    notebook: here.ipynb\n"
                         "  - name: b\n    notebook: gone.ipynb\n")
    with pytest.raises(InvalidInput) as info:
        load_spec(spec_path, pws)
    assert "'gone.ipynb' not found" in info.value.message and ":5:" in info.value.message
    with pytest.raises(OutsideWorkspace):
        load_spec(tmp_path / "outside.ipynb", pws)
    with pytest.raises(NotFound):
        load_spec("nope.pipeline.yaml", pws)


def test_a_bare_notebook_is_a_one_step_pipeline_with_its_parameters(pws):
    notebook(pws.root / "sub" / "My Notebook.ipynb",
             params="epochs = 5  # how long\nrate = 0.5\nname = 'x'\nwhen = object()")
    spec = load_spec("sub/My Notebook.ipynb", pws)
    assert spec.origin == "notebook" and spec.key == "sub/My Notebook.ipynb"
    assert [s.name for s in spec.steps] == ["My_Notebook"]
    params = spec.parameters
    assert params["epochs"].type == "int" and params["epochs"].default == 5
    assert params["epochs"].description == "how long"
    assert params["rate"].type == "float" and params["name"].default == "x"
    assert "when" in params and params["when"].required  # not a literal: no default
    # only given values are injected: the notebook keeps its own defaults
    run_params = resolve_run_parameters(spec, {"epochs": "7"})
    assert run_params == {"epochs": 7}
    assert resolve_step_parameters(spec, spec.steps[0], run_params, {}) == {"epochs": 7}
    with pytest.raises(InvalidInput) as info:
        resolve_run_parameters(spec, {"epoch": 1})
    assert "'epoch'" in info.value.message and "epochs, name, rate, when" in info.value.message


def test_run_parameters_are_typed_and_unknown_ones_name_the_known(tmp_path):
    spec = parse_spec_text(GOOD, Path("train.pipeline.yaml"))
    cli = parse_cli_parameters(["epochs=4", "rate=1e-3", "tag=a=b"])
    assert resolve_run_parameters(spec, cli) == {"epochs": 4, "rate": 0.001, "tag": "a=b"}
    with pytest.raises(InvalidInput) as info:
        resolve_run_parameters(spec, {"epochs": 1, "lr": 2, "tag": "t"})
    assert "Unknown parameter 'lr'" in info.value.message
    assert "known parameters: epochs, rate, tag" in info.value.message
    with pytest.raises(InvalidInput, match="'tag'.*no default"):
        resolve_run_parameters(spec, {})
    with pytest.raises(InvalidInput, match="epochs must be an int"):
        resolve_run_parameters(spec, {"epochs": "three", "tag": "t"})
    with pytest.raises(InvalidInput, match="key=value"):
        parse_cli_parameters(["epochs"])


def test_references_resolve_keeping_types_or_interpolating():
    spec = parse_spec_text(GOOD, Path("train.pipeline.yaml"))
    params = resolve_run_parameters(spec, {"tag": "t"})
    resolved = resolve_step_parameters(spec, spec.step("train"), params, {"prepare": {"rows": 42}})
    assert resolved == {"epochs": 3, "rows": 42, "label": "run-t-42"}
    with pytest.raises(InvalidInput) as info:
        resolve_step_parameters(spec, spec.step("train"), params, {"prepare": {"other": 1}})
    assert "steps.prepare.outputs.rows" in info.value.message and "other" in info.value.message


def test_committed_json_schema_is_the_generated_one():
    committed = default_schema_path()
    assert committed.is_file(), "run: python -m jupyter_mlops.core.pipelines.spec --write-schema"
    assert committed.read_text(encoding="utf-8") == schema_text(), \
        "jupyter_mlops/core/pipelines/pipeline.schema.json is stale: python -m jupyter_mlops.core.pipelines.spec " \
        "--write-schema"
    schema = json.loads(schema_text())
    assert schema["additionalProperties"] is False
    assert {"steps", "parameters", "schedule", "triggers", "concurrency"} <= set(
        schema["properties"])


def test_cron_slots_in_a_timezone_across_dst():
    # Europe/Paris leaves summer time on 2026-10-25: 03:00 local stays 03:00 local
    slots = slots_between("0 3 * * *", "Europe/Paris",
                          datetime(2026, 10, 24, 0, tzinfo=timezone.utc),
                          datetime(2026, 10, 26, 12, tzinfo=timezone.utc))
    assert [s.hour for s in slots] == [1, 2, 2]  # UTC: +2 in summer, +1 after
    after = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
    nxt = next_fire_times("*/15 * * * *", "UTC", 5, after)
    assert [t.minute for t in nxt] == [15, 30, 45, 0, 15]
    assert len(next_fire_times("* * * * * */10", "UTC", 3, after)) == 3  # seconds field
    with pytest.raises(InvalidInput, match="never matches"):
        next_fire_times("0 0 30 2 *")


def test_output_writes_json_atomically_and_refuses_non_json(tmp_path, monkeypatch):
    target = tmp_path / "o" / "step.outputs.json"
    monkeypatch.setenv(ENV_STEP_OUTPUTS, str(target))
    output("rows", 3)
    output("names", ("a", "b"))
    import numpy as np

    output("mean", np.float64(0.5))
    assert read_outputs(target) == {"rows": 3, "names": ["a", "b"], "mean": 0.5}
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".outputs-")]
    with pytest.raises(InvalidInput, match="JSON-serialisable"):
        output("bad", object())
    with pytest.raises(InvalidInput, match="NaN"):
        output("nan", float("nan"))
    with pytest.raises(InvalidInput, match="identifier"):
        output("not valid", 1)
    monkeypatch.delenv(ENV_STEP_OUTPUTS)
    output("local_only", 1)  # interactive use: kept in the process
    assert outputs_module.recorded_outputs()["local_only"] == 1


def test_pipeline_tables_match_their_migration(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from jupyter_mlops.core.db.models import Base

    ws = Workspace.resolve(tmp_path / "m")
    with ws.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "pipeline_" in repr(d)]
    assert ours == []
