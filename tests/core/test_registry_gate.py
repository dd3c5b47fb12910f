"""The champion/challenger gate (absolute and relative rules, first champion, promotion,
custom metrics, regression, bad input) and the registry magics in a real IPython shell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core.datasets import snapshot
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.registry import (
    alias_history,
    gate,
    get_gate_result,
    get_model_version,
    list_gate_results,
    promote,
    register_model,
    set_alias,
)
from jupyter_mlops.core.tracking import active_run
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

HOLDOUT = "holdout@v3"


@pytest.fixture(scope="module")
def ws(module_ws: Workspace) -> Workspace:
    return module_ws


@pytest.fixture(autouse=True)
def _clean(ws, monkeypatch, tmp_path):
    for name in ("JUPYTER_MLOPS_NOTEBOOK", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME",
                 "JUPYTER_MLOPS_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(jupyter_mlops, "_current", ws)  # what the magics use
    monkeypatch.chdir(tmp_path)
    yield
    assert active_run() is None
    assert not Path("mlruns").exists() and not Path("mlflow.db").exists()


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return churn.feature_matrix(frame).assign(churned=frame["churned"].to_numpy())


@pytest.fixture(scope="module")
def models(ws):
    """Two registered sources, `src-weak` (never predicts churn: F1 0) and `src-strong`,
    copied into fresh model names by each test (a copy costs no model save)."""
    from sklearn.linear_model import LogisticRegression

    train = _labelled(churn.generate(400, seed=0))
    x, y = train.drop(columns="churned"), train["churned"]
    holdout = _labelled(churn.generate(300, seed=7))
    snapshot(holdout, "holdout", tags=["v3"], workspace=ws)
    weak = LogisticRegression(C=1e-5, max_iter=300).fit(x, y)
    strong = LogisticRegression(C=1.0, max_iter=300).fit(x, y)
    register_model(weak, "src-weak", dataset=holdout, workspace=ws)
    register_model(strong, "src-strong", dataset=holdout, workspace=ws)
    return {"weak": weak, "strong": strong, "holdout": holdout}


def _model(ws, name: str, *sources: str) -> None:
    for source in sources:
        register_model(f"models:/src-{source}/1", name, workspace=ws)


def test_the_first_passing_challenger_becomes_champion(ws, models):
    _model(ws, "first", "strong")
    set_alias("first", "challenger", 1, workspace=ws)
    result = gate("first", dataset=HOLDOUT,
                  metrics={"f1": {"min_delta": 0.01}, "roc_auc": {"min": 0.6}}, workspace=ws)
    assert result.passed and result.promoted and result.first_champion
    assert (result.challenger, result.champion, result.promoted_alias) == (1, None, "champion")
    by_metric = {(c.metric, c.rule): c for c in result.checks}
    assert by_metric["f1", "min_delta"].passed is None  # skipped: nothing to compare with
    assert "no champion yet" in by_metric["f1", "min_delta"].message
    assert by_metric["roc_auc", "min"].passed is True
    assert result.scores["champion"] is None and result.scores["challenger"]["roc_auc"] > 0.6
    assert "accuracy" in result.scores["challenger"]  # reported, not gated
    assert result.dataset.startswith("holdout@") and len(result.dataset) > len("holdout@") + 12
    assert (result.target, result.task, result.rows) == ("churned", "classification", 300)
    assert get_model_version("first@champion", workspace=ws).version == 1
    move = alias_history("first", "champion", workspace=ws)[0]
    assert (move.via, move.gate_id, move.to_version) == ("gate", result.id, 1)
    assert get_gate_result(result.id, workspace=ws).to_dict() == result.to_dict()
    event = list_events(ws, kind="registry.gate", subject="first")[0]
    assert event.data["passed"] is True and event.data["promoted"] is True
    table = result.table()
    assert "SKIP" in table and "PASS" in table and "promoted to @champion" in table
    assert "jp-mlops-gate-passed" in result._repr_html_()


def test_a_first_candidate_failing_an_absolute_rule_is_not_made_champion(ws, models):
    _model(ws, "first-fail", "weak")
    set_alias("first-fail", "challenger", 1, workspace=ws)
    result = gate("first-fail", dataset=HOLDOUT, metrics={"f1": {"min": 0.3}}, promote=True,
                  workspace=ws)
    assert not result.passed and not result.promoted
    assert result.reasons[0].startswith("f1 0.0000 < 0.3 (min)")
    with pytest.raises(NotFound, match="no alias @champion"):
        get_model_version("first-fail@champion", workspace=ws)
    assert "REJECTED" in result.table()


def test_relative_rules_compare_with_the_champion_and_promote_on_request(ws, models):
    _model(ws, "rel", "weak", "strong")
    promote("rel", 1, reason="baseline", workspace=ws)
    set_alias("rel", "challenger", 2, workspace=ws)

    ok = gate("rel", dataset=HOLDOUT, workspace=ws,
              metrics={"f1": {"min_delta": 0.05}, "roc_auc": {"min_relative": 0.0}})
    assert ok.passed and not ok.promoted and (ok.challenger, ok.champion) == (2, 1)
    f1 = next(c for c in ok.checks if c.metric == "f1")
    assert f1.compared == pytest.approx(ok.scores["challenger"]["f1"] - ok.scores["champion"]["f1"])
    assert get_model_version("rel@champion", workspace=ws).version == 1  # not asked to promote

    too_much = gate("rel", dataset=HOLDOUT, metrics={"roc_auc": {"min_relative": 5.0}},
                    workspace=ws)
    assert not too_much.passed and "relative improvement" in too_much.reasons[0]

    backwards = gate("rel", challenger=1, against=2, dataset=HOLDOUT, metrics=["f1"],
                     workspace=ws)
    assert not backwards.passed and backwards.reasons[0].startswith("f1 0.0000 vs v2")

    promoted = gate("rel", dataset=HOLDOUT, metrics={"f1": {"min_delta": 0.01}}, promote=True,
                    reason="weekly retrain", workspace=ws)
    assert promoted.passed and promoted.promoted
    move = alias_history("rel", "champion", workspace=ws)[0]
    assert (move.from_version, move.to_version, move.via) == (1, 2, "gate")
    assert f"gate #{promoted.id} passed" in move.reason and "weekly retrain" in move.reason
    assert [r.id for r in list_gate_results("rel", workspace=ws)] == [
        promoted.id, backwards.id, too_much.id, ok.id]
    assert list_events(ws, kind="registry.gate", subject="rel")[0].data["id"] == promoted.id


def test_custom_and_lower_is_better_metrics(ws, models):
    _model(ws, "custom", "weak", "strong")
    promote("custom", 1, reason="baseline", workspace=ws)
    set_alias("custom", "challenger", 2, workspace=ws)

    def missed(y_true, y_pred):
        return float(np.sum(np.asarray(y_true, bool) & ~np.asarray(y_pred, bool)))

    def mean_score(y_true, y_pred, y_score=None):
        return float(np.mean(y_score))

    result = gate("custom", dataset=HOLDOUT, workspace=ws,
                  metrics={"missed": {"higher_is_better": False, "min_delta": 1},
                           "log_loss": {"max": 0.7}},
                  custom_metrics={"missed": missed, "mean_score": mean_score})
    assert result.passed, result.reasons
    scores = result.scores
    assert scores["challenger"]["missed"] < scores["champion"]["missed"]
    assert 0 < scores["challenger"]["mean_score"] < 1  # reported, got the probabilities
    gained = next(c for c in result.checks if c.metric == "missed")
    assert gained.compared == scores["champion"]["missed"] - scores["challenger"]["missed"]
    assert "lower is better" in gained.message


def test_a_dataset_missing_input_columns_names_them(ws, models):
    _model(ws, "narrow", "strong")
    set_alias("narrow", "challenger", 1, workspace=ws)
    snapshot(models["holdout"].drop(columns=["support_calls", "region_west"]), "narrow-holdout",
             workspace=ws)
    with pytest.raises(InvalidInput) as err:
        gate("narrow", dataset="narrow-holdout@latest", workspace=ws)
    assert "support_calls, region_west" in err.value.message
    assert err.value.details["missing"] == ["support_calls", "region_west"]
    assert list_gate_results("narrow", workspace=ws) == []


def test_bad_gate_input_is_refused_with_what_would_work(ws, models):
    _model(ws, "bad-gate", "weak", "strong")
    set_alias("bad-gate", "challenger", 2, workspace=ws)
    with pytest.raises(InvalidInput, match="Unknown metric 'auc'.*roc_auc"):
        gate("bad-gate", dataset=HOLDOUT, metrics={"auc": {"min": 0.5}}, workspace=ws)
    with pytest.raises(InvalidInput, match="Unknown rule"):
        gate("bad-gate", dataset=HOLDOUT, metrics={"f1": {"minimum": 0.5}}, workspace=ws)
    with pytest.raises(InvalidInput, match="same version"):
        gate("bad-gate", challenger=2, against="challenger", dataset=HOLDOUT, workspace=ws)
    with pytest.raises(NotFound, match="no alias @candidate.*@challenger → v2"):
        gate("bad-gate", challenger="candidate", dataset=HOLDOUT, workspace=ws)
    with pytest.raises(InvalidInput, match="held-out dataset"):
        gate("bad-gate", workspace=ws)
    with pytest.raises(NotFound):
        gate("bad-gate", dataset="holdout@v9", workspace=ws)
    with pytest.raises(InvalidInput, match="label column 'nope'"):
        gate("bad-gate", dataset=HOLDOUT, target="nope", workspace=ws)


def test_a_regression_gate(ws):
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    frame = x.assign(price=x @ np.array([3.0, -2.0, 0.5]) + rng.normal(scale=0.3, size=200))
    snapshot(frame, "prices", tags=["v3"], workspace=ws)
    register_model(DummyRegressor().fit(x, frame["price"]), "price", dataset=frame, workspace=ws)
    register_model(LinearRegression().fit(x, frame["price"]), "price", dataset=frame,
                   alias="challenger", workspace=ws)
    promote("price", 1, reason="baseline", workspace=ws)
    result = gate("price", dataset="prices@v3", promote=True, workspace=ws,
                  metrics={"rmse": {"min_delta": 0.5}, "r2": {"min": 0.9}})
    assert result.task == "regression" and result.target == "price"
    assert result.passed and result.promoted
    assert result.scores["challenger"]["rmse"] < result.scores["champion"]["rmse"]
    assert "mae" in result.scores["challenger"]
    assert get_model_version("price@champion", workspace=ws).version == 2


# -- magics -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.registry_magics import register_registry_magics

    existed = InteractiveShell.initialized()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    register_registry_magics(ip)
    yield ip
    if not existed:
        InteractiveShell.clear_instance()


def test_register_and_gate_magics(shell, ws, models, capsys):
    from IPython.core.error import UsageError

    shell.user_ns["strong"] = models["strong"]
    mv = shell.run_line_magic("register",
                              f"strong mag --dataset {HOLDOUT} --alias challenger -t team=ml")
    assert (mv.name, mv.version, mv.aliases, mv.tags) == ("mag", 1, ["challenger"],
                                                          {"team": "ml"})
    assert shell.run_line_magic("register", "models:/src-weak/1 mag").version == 2
    assert shell.run_line_magic("register", f"{mv.run_id} mag").version == 3
    with pytest.raises(UsageError, match="not found"):
        shell.run_line_magic("register", "0123456789abcdef0123456789abcdef mag")
    with pytest.raises(UsageError, match="protected-alias"):
        shell.run_line_magic("register", "models:/src-weak/1 mag --alias champion")

    capsys.readouterr()
    done = shell.run_cell(f"%gate mag --dataset {HOLDOUT} --metric roc_auc --min 0.6\n")
    assert done.success, done.error_in_exec
    out = capsys.readouterr().out
    assert "roc_auc" in out and "PASS" in out and "promoted to @champion" in out
    assert shell.user_ns["_gate"].passed

    rejected = shell.run_cell(f"%%gate mag --dataset {HOLDOUT} --challenger 2 --strict\n"
                              "f1: min_delta=0.05  # must clearly beat v1\n"
                              "roc_auc: min=0.5\n")
    assert isinstance(rejected.error_in_exec, UsageError)
    assert "rejected v2" in str(rejected.error_in_exec)
    out = capsys.readouterr().out
    assert "FAIL" in out and "min_delta 0.05" in out
    assert shell.user_ns["_gate"].passed is False
    assert get_model_version("mag@champion", workspace=ws).version == 1

    bad = shell.run_cell(f"%%gate mag --dataset {HOLDOUT} --min 0.5\n# no metric named\n")
    assert isinstance(bad.error_in_exec, UsageError) and "apply to a --metric" in str(
        bad.error_in_exec)


def test_models_magic_shows_models_versions_and_history(shell, ws, models):
    from IPython.core.error import UsageError

    widget = shell.run_line_magic("models", "")
    overview = widget.children[0].value if hasattr(widget, "children") else widget._repr_html_()
    assert "src-strong" in overview and "jp-mlops-models-table" in overview
    detail = shell.run_line_magic("models", "first")._repr_html_()
    assert "@champion" in detail and "alias history" in detail and "gate" in detail
    with pytest.raises(UsageError, match="not registered"):
        shell.run_line_magic("models", "ghost")
    with pytest.raises(UsageError, match="Usage"):
        shell.run_line_magic("models", "a b")


def test_scoring_multiclass_and_string_labels_and_metric_specs():
    """The scoring and rule parsing alone (no store): multiclass averages, string labels."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from jupyter_mlops.core.registry.gate import _Loaded, _score, normalize_metrics

    x, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
    model = LogisticRegression(max_iter=1000).fit(x, names)
    scores = _score(_Loaded(1, "v1", model, model, list(x.columns)), "iris", x, names,
                    "classification", ["f1", "roc_auc", "log_loss"], ["accuracy"], {}, None)
    assert 0.9 < scores["f1"] <= 1 and scores["roc_auc"] > 0.95 and scores["accuracy"] > 0.9
    assert 0 < scores["log_loss"] < 0.5
    binary = np.where(names == "setosa", "yes", "no")  # positive class: the model's last, "yes"
    model = LogisticRegression(max_iter=1000).fit(x, binary)
    scores = _score(_Loaded(1, "v1", model, model, None), "b", x, binary, "classification",
                    ["recall", "roc_auc"], [], {}, None)
    assert scores == {"recall": 1.0, "roc_auc": 1.0}

    assert normalize_metrics(["f1"], "classification", {}) == {"f1": {"min_delta": 0.0}}
    assert normalize_metrics(None, "regression", {}) == {"rmse": {"min_delta": 0.0}}
    assert normalize_metrics({"r2": {"min": 0.5}}, "regression", {}) == {"r2": {"min": 0.5}}
    with pytest.raises(InvalidInput, match="must be a dict"):
        normalize_metrics({"f1": 0.5}, "classification", {})
    with pytest.raises(InvalidInput, match="finite number"):
        normalize_metrics({"f1": {"min": "high"}}, "classification", {})
    with pytest.raises(InvalidInput, match="at least one metric"):
        normalize_metrics({}, "classification", {})
