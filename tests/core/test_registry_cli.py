"""`jupyter mlops models list|show|aliases|gate|promote|lineage`, in-process.

A real workspace in a tmp folder gets what a training notebook would make:
a training and a held-out snapshot, two runs of `train.ipynb` that read the
training snapshot and fit real scikit-learn models, both registered as `churn`
(v1 a weak model, @champion; v2 a good one, @challenger). The commands are
called through `jupyter_mlops.cli.main` (MLOpsError -> exit 1), and their
output read with capsys.
Tests that move @champion put it back, so each starts from v1 @champion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.core.errors import MLOpsError
from jupyter_mlops.core.registry import alias_history, get_model_version, promote
from jupyter_mlops.core.tracking import active_run, refresh_context
from jupyter_mlops.cli import main
from jupyter_mlops.registry_cli import EXIT_GATE_REJECTED, parse_metric_options
from registry_seed import ENV_CLEARED, seed_two_models

@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`churn` v1 (weak, @champion) and v2 (strong, @challenger), trained in `train.ipynb`."""
    root = tmp_path_factory.mktemp("registry-cli")
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_CLEARED:
            mp.delenv(name, raising=False)
        mp.setenv("JUPYTER_MLOPS_NOTEBOOK", "train.ipynb")
        mp.chdir(root)
        seeded = seed_two_models(root)
        assert active_run() is None
    refresh_context()
    yield seeded
    seeded["ws"].close()


@pytest.fixture
def cli(registry, capsys, monkeypatch):
    """`cli("models", "list")` → (exit code, stdout, stderr) through the `jupyter mlops`
    entry point, the workspace passed with -w."""
    for name in ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*argv, "-w", str(registry["root"])])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _champion(registry) -> int:
    return get_model_version("churn", "champion", workspace=registry["ws"]).version


@pytest.fixture
def restore_champion(registry) -> Iterator[None]:
    """Put @champion back on v1 after a test that moved it."""
    yield
    promote("churn", 1, reason="test reset", workspace=registry["ws"])


def test_list_show_aliases_and_lineage(cli, registry) -> None:
    code, out, _ = cli("models", "list")
    assert code == 0
    header, _rule, row = out.splitlines()
    assert header.split() == ["model", "latest", "aliases", "protected"]
    assert row.split()[:2] == ["churn", "v2"]
    assert "challenger=2, champion=1" in row and row.rstrip().endswith("champion")
    code, out, _ = cli("models", "list", "--json")
    assert code == 0
    [model] = json.loads(out)
    assert {"champion": 1, "challenger": 2}.items() <= model["aliases"].items()
    assert model["protected"] == ["champion"] and model["latest_version"] == 2

    code, out, _ = cli("models", "show", "churn")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("churn: 2 version(s)")
    v2, v1 = lines[3], lines[4]
    assert v2.startswith("v2") and "@challenger" in v2 and registry["runs"]["strong"] in v2
    assert v1.startswith("v1") and "@champion" in v1 and registry["runs"]["weak"] in v1
    assert "train_accuracy=" in v2 and "train.ipynb" in v2
    assert f"churn-train@{registry['train'].version[:12]}" in v2
    code, out, _ = cli("models", "show", "churn", "--json")
    detail = json.loads(out)
    assert code == 0 and [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][0]["source_notebook"] == "train.ipynb"
    assert [d["version"] for d in detail["versions"][0]["datasets"]] == [registry["train"].version]

    code, out, _ = cli("models", "aliases", "churn")
    assert code == 0
    assert any(line.split()[:3] == ["@champion", "v1", "yes"] for line in out.splitlines())
    assert any(line.split()[:2] == ["@challenger", "v2"] for line in out.splitlines())
    assert "baseline" in out and "promote" in out and "register" in out
    code, out, _ = cli("models", "aliases", "churn", "--alias", "champion", "--json")
    moves = json.loads(out)
    assert code == 0 and moves["aliases"] == {"champion": 1}
    assert {m["alias"] for m in moves["history"]} == {"champion"}
    assert moves["history"][-1]["reason"] == "baseline"

    code, out, _ = cli("models", "lineage", "churn", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("model_version: churn v2") and "@challenger" in lines[0]
    assert lines[1].startswith(f"  produced_by -> run: train-strong ({registry['runs']['strong']}")
    assert any(line.startswith("    ran -> notebook: train.ipynb") for line in lines)
    assert any(line.startswith("    read -> dataset_version: churn-train@") and "400 rows" in line
               for line in lines)
    code, out, _ = cli("models", "lineage", "churn", "champion", "--json")
    graph = json.loads(out)
    assert code == 0 and graph["root"] == "model:churn/1"
    assert {n["kind"] for n in graph["nodes"]} >= {"model_version", "run", "notebook",
                                                     "dataset_version"}


def test_a_passing_gate_exits_0_and_promotes_with_its_reason(cli, registry,
                                                             restore_champion) -> None:
    code, out, err = cli("models", "gate", "churn", "--dataset", "churn-holdout@v1",
                         "--metric", "f1:0.05", "--metric", "accuracy:-0.2", "--promote",
                         "--reason", "weekly retrain")
    assert code == 0, err
    assert "v2 (challenger) vs v1 (champion)" in out and "300 rows" in out
    f1_row = next(line for line in out.splitlines() if line.startswith("f1 "))
    assert "min_delta 0.05" in f1_row and f1_row.rstrip().endswith("PASS")
    assert "PASSED: v2 promoted to @champion" in out
    assert _champion(registry) == 2

    code, out, _ = cli("models", "aliases", "churn", "--alias", "champion")
    assert code == 0
    newest = next(line for line in out.splitlines() if "@champion" in line and "v1" in line
                  and "v2" in line)
    assert "gate #" in newest and "weekly retrain" in newest
    [move] = alias_history("churn", "champion", limit=1, workspace=registry["ws"])
    assert (move.from_version, move.to_version, move.via) == (1, 2, "gate")
    assert "weekly retrain" in move.reason and move.gate_id is not None


def test_a_rejected_gate_exits_5_says_why_and_moves_nothing(cli, registry) -> None:
    code, out, err = cli("models", "gate", "churn", "--dataset", "churn-holdout@v1",
                         "--metric", "f1:0.99", "--promote")
    assert code == EXIT_GATE_REJECTED == 5
    assert "REJECTED" in out and "FAIL" in out and "needed ≥ +0.99" in out
    assert "rejected churn v2 (nothing promoted)" in err and "0.99" in err
    assert _champion(registry) == 1

    code, out, err = cli("models", "gate", "churn", "-d", "churn-holdout@v1", "-m", "f1:0.99",
                         "--json")
    result = json.loads(out)
    assert code == 5 and result["passed"] is False and result["promoted"] is False
    assert result["verdict"] == "REJECTED" and result["checks"][0]["metric"] == "f1"
    assert result["dataset"] == f"churn-holdout@{registry['holdout'].version}"

    # the challenger compared with itself is bad input, not a rejection
    code, _, err = cli("models", "gate", "churn", "-d", "churn-holdout@v1", "--against", "2")
    assert code == 1 and "same version" in err


def test_bad_names_exit_1_naming_what_exists(cli) -> None:
    code, out, err = cli("models", "show", "nope")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "'nope' is not registered" in err and "churn" in err
    code, _, err = cli("models", "lineage", "churn", "9")
    assert code == 1 and "no version 9" in err and "Versions: 1, 2" in err
    assert "@champion → v1" in err
    code, _, err = cli("models", "gate", "churn", "-d", "churn-holdout@v1", "--challenger", "7")
    assert code == 1 and "Versions: 1, 2" in err
    code, _, err = cli("models", "gate", "churn", "-d", "churn-holdout@v1", "-m", "f2")
    assert code == 1 and "Unknown metric 'f2'" in err and "roc_auc" in err
    code, _, err = cli("models", "gate", "churn", "-d", "churn-holdout@v1", "-m", "f1:lots")
    assert code == 1 and "'lots' is not a number" in err
    code, _, err = cli("models", "gate", "churn", "-d", "no-such-data@v1")
    assert code == 1 and "no-such-data" in err
    code, _, err = cli("models", "aliases", "churn", "--alias", "prod")
    assert code == 1 and "no alias @prod" in err and "@champion" in err
    code, _, err = cli("models", "aliases", "ghost")
    assert code == 1 and "churn" in err


def test_promote_needs_a_reason_then_moves_the_alias(cli, registry, restore_champion) -> None:
    code, out, err = cli("models", "promote", "churn", "challenger")
    assert code == 1 and out == ""
    assert "reason-required" in err and "--reason" in err
    code, _, err = cli("models", "promote", "churn", "2", "--reason", "   ")
    assert code == 1 and "reason-required" in err
    assert _champion(registry) == 1

    code, out, err = cli("models", "promote", "churn", "challenger", "--reason",
                         "reviewed by the risk team")
    assert code == 0, err
    assert "churn@champion: v1 → v2 via promote: reviewed by the risk team" in out
    assert _champion(registry) == 2
    code, out, _ = cli("models", "promote", "churn", "v2", "--reason", "again", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["moved"] is False and answer["move"] is None
    assert answer["version"] == 2 and answer["protected"] is True
    code, out, _ = cli("models", "promote", "churn", "1", "--alias", "staging", "-r", "try",
                       "--json")
    answer = json.loads(out)
    assert code == 0 and answer["move"]["to_version"] == 1 and answer["protected"] is False


def test_metric_options_parse_into_core_rules() -> None:
    assert parse_metric_options(None) is None
    assert parse_metric_options(["f1:0.01", "rmse"]) == {"f1": {"min_delta": 0.01}, "rmse": {}}
    assert parse_metric_options(["log_loss:-0.005"]) == {"log_loss": {"min_delta": -0.005}}
    for bad in (["f1", "f1:0.1"], [":0.1"], ["f1:nan"]):
        with pytest.raises(MLOpsError):
            parse_metric_options(bad)


def test_jupyter_mlops_models_is_wired(registry, capsys) -> None:
    from jupyter_mlops.cli import main

    assert main(["models", "list", "-w", str(Path(registry["root"]))]) == 0
    assert "churn" in capsys.readouterr().out
    assert main(["models", "show", "ghost", "-w", str(registry["root"])]) == 1
    assert "error: Model 'ghost' is not registered" in capsys.readouterr().err
