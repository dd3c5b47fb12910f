"""`jupyter mlops pipeline run|validate|runs` and `%pipeline` / `%mlops_output`, in-process.

The command functions are called through `jupyter_mlops.cli.main`, the
`jupyter mlops` entry point; runs use the process's shared executor.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.core.pipelines.outputs import ENV_STEP_OUTPUTS, read_outputs
from jupyter_mlops.cli import main
from jupyter_mlops.pipeline_cli import EXIT_RUN_FAILED

pytestmark = pytest.mark.slow


def notebook(path: Path, params: str, *cells: str) -> None:
    nbformat.write(new_notebook(cells=[new_code_cell(params, metadata={"tags": ["parameters"]}),
                                       *[new_code_cell(c) for c in cells]]), path)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipelines-cli")
    notebook(root / "double.ipynb", "n = 1",
             "from jupyter_mlops.core.pipelines.outputs import output\noutput('twice', n * 2)")
    notebook(root / "boom.ipynb", "n = 1", "m = n", "raise ValueError(f'bad n={n}')")
    (root / "ok.pipeline.yaml").write_text(
        "parameters: {n: {type: int, default: 1}}\n"
        "steps:\n  - {name: double, notebook: double.ipynb, parameters: {n: '${params.n}'}}\n"
        "schedule: {cron: '0 6 * * 1-5', timezone: Europe/Paris}\n")
    (root / "boom.pipeline.yaml").write_text(
        "steps:\n  - {name: boom, notebook: boom.ipynb, parameters: {n: 7}}\n"
        "  - {name: later, notebook: double.ipynb, depends_on: [boom]}\n")
    (root / "bad.pipeline.yaml").write_text(
        "steps:\n  - name: a\n    notebook: double.ipynb\n    depends_on: a\n")
    return root


def test_validate_describes_a_good_spec_and_locates_a_bad_one(root, capsys):
    assert main(["pipeline", "validate", "ok.pipeline.yaml", "-w", str(root)]) == 0
    out = capsys.readouterr().out
    assert "valid pipeline 'ok'" in out and "double.ipynb" in out and "Europe/Paris" in out
    assert "param n: int, default 1" in out
    assert main(["pipeline", "validate", "bad.pipeline.yaml", "-w", str(root)]) == 1
    err = capsys.readouterr().err
    assert "bad.pipeline.yaml:4:" in err and "depends_on" in err
    assert main(["pipeline", "validate", "../elsewhere.pipeline.yaml", "-w", str(root)]) == 1
    assert "outside the workspace root" in capsys.readouterr().err


def test_run_succeeds_with_typed_parameters_and_fails_with_the_cell(root, capsys):
    code = main(["pipeline", "run", "ok.pipeline.yaml", "-w", str(root), "-p", "n=21",
                 "--no-track", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "succeeded" in out and '{"twice": 42}' in out
    code = main(["pipeline", "run", "boom.pipeline.yaml", "-w", str(root), "--no-track",
                 "--quiet"])
    captured = capsys.readouterr()
    assert code == EXIT_RUN_FAILED
    assert "step 'boom' failed at cell 3: ValueError: bad n=7" in captured.err
    assert "later" in captured.out and "skipped" in captured.out
    assert main(["pipeline", "run", "ok.pipeline.yaml", "-w", str(root), "-p", "m=1",
                 "--quiet"]) == 1
    assert "known parameters: n" in capsys.readouterr().err
    assert main(["pipeline", "runs", "-w", str(root), "--limit", "5"]) == 0
    assert "boom.pipeline.yaml" in capsys.readouterr().out


def test_pipeline_and_output_magics(root, monkeypatch, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_mlops
    from jupyter_mlops.pipeline_magics import register_pipeline_magics

    jupyter_mlops.workspace(str(root))
    shell = InteractiveShell.instance()
    register_pipeline_magics(shell)
    run = shell.run_line_magic("pipeline", "run double.ipynb -p n=5 --no-track")
    assert run.status == "succeeded" and run.step("double").outputs == {"twice": 10}
    with pytest.raises(UsageError, match="failed: step 'boom' failed"):
        shell.run_line_magic("pipeline", "run boom.pipeline.yaml --no-track")
    with pytest.raises(UsageError, match="Unknown %pipeline command"):
        shell.run_line_magic("pipeline", "fly")
    target = tmp_path / "outputs.json"
    monkeypatch.setenv(ENV_STEP_OUTPUTS, str(target))
    shell.user_ns["rows"] = 12
    shell.run_line_magic("mlops_output", "rows")
    shell.run_line_magic("mlops_output", "half rows / 2")
    assert read_outputs(target) == {"rows": 12, "half": 6.0}
    with pytest.raises(UsageError, match="no variable 'nope'"):
        shell.run_line_magic("mlops_output", "nope")
