"""Registering model versions: from a run (classic artifact, MLflow 3 logged model), from
URIs, from a fitted object; lookups and their 404s; loading."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jupyter_mlops.core.datasets import snapshot
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.registry import (
    get_model_version,
    list_model_versions,
    list_models,
    load_model,
    register_model,
)
from jupyter_mlops.core.registry._common import bound_mlflow_uris, parse_model_ref
from jupyter_mlops.core.tracking import active_run, start_run
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

SKLEARN_REQS = ["scikit-learn"]


@pytest.fixture(scope="module")
def ws(module_ws: Workspace) -> Workspace:
    return module_ws


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    for name in ("JUPYTER_MLOPS_NOTEBOOK", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME",
                 "JUPYTER_MLOPS_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    assert active_run() is None
    assert not Path("mlruns").exists() and not Path("mlflow.db").exists()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = churn.generate(300, seed=3)
    return churn.feature_matrix(frame).assign(churned=frame["churned"].to_numpy())


@pytest.fixture(scope="module")
def fitted(data):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=300).fit(data.drop(columns="churned"), data["churned"])


def test_register_from_run_id_with_a_classic_model_artifact(ws, fitted, data, tmp_path):
    import mlflow.sklearn

    mlflow.sklearn.save_model(fitted, str(tmp_path / "model"), pip_requirements=SKLEARN_REQS,
                              serialization_format="cloudpickle")
    with start_run(experiment="registry", name="classic", workspace=ws) as run:
        run.log(f1=0.5)
        run.log_artifact(tmp_path / "model", "model")
    mv = register_model(run.id, "classic", tags={"team": "growth"}, workspace=ws)
    assert (mv.name, mv.version, mv.run_id) == ("classic", 1, run.id)
    assert mv.source_uri == f"runs:/{run.id}/model"
    assert mv.metrics == {"f1": 0.5} and mv.tags == {"team": "growth"}
    assert mv.source.endswith("/model")
    again = register_model(f"runs:/{run.id}/model", "classic", workspace=ws)
    assert again.version == 2
    model = load_model("classic/1", workspace=ws)
    features = data.drop(columns="churned").head(4)
    assert list(model.predict(features)) == list(fitted.predict(features))
    events = list_events(ws, kind="registry.register", subject="classic")
    assert [e.data["version"] for e in events] == [2, 1]
    json.dumps(mv.to_dict())


def test_register_from_run_id_with_an_mlflow3_logged_model(ws, fitted, data):
    import mlflow
    import mlflow.sklearn

    with start_run(experiment="registry", name="logged", workspace=ws) as run:
        pass
    with bound_mlflow_uris(ws):  # the fluent API a user would call, pointed at the workspace
        with mlflow.start_run(run_id=run.id):
            info = mlflow.sklearn.log_model(fitted, name="model", pip_requirements=SKLEARN_REQS,
                                            serialization_format="cloudpickle")
    assert info.model_uri.startswith("models:/m-")
    mv = register_model(run.id, "logged", workspace=ws)
    assert mv.model_id == info.model_id and mv.run_id == run.id
    assert mv.source_uri == f"models:/{info.model_id}"
    by_uri = register_model(info.model_uri, "logged", workspace=ws)
    by_path = register_model(f"runs:/{run.id}/model", "logged", workspace=ws)
    assert (by_uri.version, by_path.version) == (2, 3)
    assert {by_uri.model_id, by_path.model_id} == {info.model_id}
    copy = register_model("models:/logged/1", "logged-copy", workspace=ws)
    assert copy.run_id == run.id and copy.model_id == info.model_id
    features = data.drop(columns="churned").head(3)
    assert list(load_model("logged/3", workspace=ws).predict(features)) == \
        list(fitted.predict(features))


def test_register_a_fitted_object_logs_it_with_a_signature_and_its_dataset(ws, fitted, data):
    train = snapshot(data, "reg-train", workspace=ws)
    with start_run(experiment="registry", name="object", workspace=ws) as run:
        mv = register_model(fitted, "object", alias="challenger", dataset="reg-train@latest",
                            workspace=ws)
    assert mv.run_id == run.id and mv.flavor == "sklearn" and mv.aliases == ["challenger"]
    assert mv.model_id and mv.model_id.startswith("m-")
    assert [(d["name"], d["version"]) for d in mv.datasets] == [("reg-train", train.version)]
    pyfunc = load_model("object@challenger", workspace=ws)
    schema = pyfunc.metadata.get_input_schema()
    assert schema.input_names() == list(data.columns.drop("churned"))
    assert pyfunc.metadata.get_output_schema() is not None
    native = load_model("object", flavor="native", workspace=ws)
    assert type(native).__name__ == "LogisticRegression"

    outside = register_model(fitted, "object", dataset=data, workspace=ws)  # no active run
    assert outside.run_id != run.id and outside.run_name == "register-object"
    assert outside.version == 2 and outside.datasets == []


def test_register_an_object_without_predict_or_with_bad_data_is_refused(ws, fitted, data):
    with pytest.raises(InvalidInput, match="predict"):
        register_model(object(), "bad", workspace=ws)
    with pytest.raises(InvalidInput, match="lacks columns the model was fitted on: "
                                           "tenure_months"):
        register_model(fitted, "bad", dataset=data.drop(columns="tenure_months"), workspace=ws)
    with pytest.raises(NotFound):
        get_model_version("bad", workspace=ws)


def test_pyfunc_fallback_for_an_object_with_predict(ws, data):
    class Threshold:
        def predict(self, frame):
            return (frame["support_calls"] > 2).to_numpy()

    mv = register_model(Threshold(), "plain", dataset=data, pip_requirements=["pandas"],
                        workspace=ws)
    assert mv.flavor == "pyfunc"
    model = load_model("plain/1", workspace=ws)
    features = data.drop(columns="churned").head(5)
    assert list(model.predict(features)) == list(features["support_calls"] > 2)
    assert type(load_model("plain/1", flavor="native", workspace=ws)).__name__ == "Threshold"


def test_a_run_without_a_model_lists_its_artifacts(ws):
    with start_run(experiment="registry", name="no-model", workspace=ws) as run:
        run.log_text("hello", "notes/readme.txt")
    with pytest.raises(NotFound) as err:
        register_model(run.id, "nothing", workspace=ws)
    message = err.value.message
    assert "no logged model" in message and "notes/readme.txt" in message
    assert "environment/requirements.txt" in message
    assert "notes/readme.txt" in err.value.details["artifacts"]
    with pytest.raises(NotFound, match="no model at 'model'"):
        register_model(f"runs:/{run.id}/model", "nothing", workspace=ws)
    with pytest.raises(NotFound, match="not found"):
        register_model("0" * 32, "nothing", workspace=ws)
    with pytest.raises(InvalidInput):
        register_model("s3://bucket/model", "nothing", workspace=ws)


def test_lookups_404_with_what_exists(ws):
    with pytest.raises(NotFound) as err:
        get_model_version("nope", workspace=ws)
    assert "classic" in err.value.message and "classic" in err.value.details["models"]
    with pytest.raises(NotFound) as err:
        get_model_version("classic/99", workspace=ws)
    assert "no version 99" in err.value.message and "Versions: 1, 2" in err.value.message
    with pytest.raises(NotFound) as err:
        get_model_version("object@ghost", workspace=ws)
    assert "no alias @ghost" in err.value.message and "@challenger → v1" in err.value.message
    with pytest.raises(InvalidInput):
        get_model_version("bad name!", workspace=ws)


def test_references_list_and_versions(ws):
    assert parse_model_ref("churn@champion").alias == "champion"
    assert parse_model_ref("models:/churn/3").version == 3
    assert parse_model_ref("churn", "v2").version == 2
    assert parse_model_ref("churn").version is None
    assert get_model_version("classic", workspace=ws).version == 2  # latest
    assert get_model_version("classic", 1, workspace=ws).version == 1
    models = {m.name: m for m in list_models(workspace=ws)}
    assert models["object"].aliases == {"challenger": 1}
    assert models["object"].protected == ["champion"]
    assert models["classic"].latest_version == 2
    versions = list_model_versions("classic", workspace=ws)
    assert [v.version for v in versions] == [2, 1]
    json.dumps([m.to_dict() for m in models.values()])
    assert "classic" in versions[0]._repr_html_()


# -- aliases: history, protection, promote ----------------------------------------------------
@pytest.fixture(scope="module")
def aliased(ws, fitted, tmp_path_factory) -> str:
    """Model `aliased` with versions 1-3, registered from one classic artifact (cheap)."""
    import mlflow.sklearn

    folder = tmp_path_factory.mktemp("aliased") / "model"
    mlflow.sklearn.save_model(fitted, str(folder), pip_requirements=SKLEARN_REQS,
                              serialization_format="cloudpickle")
    with start_run(experiment="registry", name="aliased", workspace=ws) as run:
        run.log_artifact(folder, "model")
    for _ in range(3):
        register_model(run.id, "aliased", workspace=ws)
    return "aliased"


def test_alias_moves_are_recorded_with_who_when_from_to_and_why(ws, aliased, monkeypatch):
    from jupyter_mlops.core.registry import alias_history, set_alias

    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    first = set_alias(aliased, "challenger", 1, workspace=ws)
    second = set_alias(aliased, "challenger", "v2", reason="retrained on May data", workspace=ws)
    assert set_alias(aliased, "challenger", 2, workspace=ws) is None  # no move, nothing recorded
    history = alias_history(aliased, "challenger", workspace=ws)
    assert [(m.from_version, m.to_version, m.via) for m in history] == [(1, 2, "set"),
                                                                        (None, 1, "set")]
    assert history[0] == second and history[1] == first
    assert history[0].actor == "ada" and history[0].reason == "retrained on May data"
    assert history[0].ts >= history[1].ts and history[0].ts.tzinfo is not None
    assert get_model_version(f"{aliased}@challenger", workspace=ws).version == 2
    events = list_events(ws, kind="registry.alias", subject=aliased)
    assert events[0].data["to_version"] == 2 and events[0].actor == "ada"
    assert "v1 → v2" in events[0].message
    set_alias(aliased, "staging", "challenger", workspace=ws)  # copy another alias
    assert get_model_version(aliased, "staging", workspace=ws).version == 2
    from jupyter_mlops.core.registry import remove_alias

    removed = remove_alias(aliased, "staging", reason="not used", workspace=ws)
    assert (removed.from_version, removed.to_version, removed.via) == (2, None, "remove")
    with pytest.raises(NotFound, match="no alias @staging"):
        get_model_version(aliased, "staging", workspace=ws)
    with pytest.raises(NotFound, match="Versions: 1, 2, 3"):
        set_alias(aliased, "challenger", 7, workspace=ws)
    with pytest.raises(InvalidInput, match="reserved"):
        set_alias(aliased, "latest", 1, workspace=ws)


def test_protected_champion_moves_only_through_promote_with_a_reason(ws, aliased):
    from jupyter_mlops.core.errors import Conflict
    from jupyter_mlops.core.registry import alias_history, promote, remove_alias, set_alias

    with pytest.raises(Conflict) as err:
        set_alias(aliased, "champion", 1, reason="I said so", workspace=ws)
    assert "protected-alias" in err.value.message and "promote(" in err.value.message
    assert err.value.details["rule"] == "protected-alias"
    before = [v.version for v in list_model_versions(aliased, with_runs=False, workspace=ws)]
    with pytest.raises(Conflict, match="protected-alias"):
        register_model(f"models:/{aliased}/1", aliased, alias="champion", workspace=ws)
    after = [v.version for v in list_model_versions(aliased, with_runs=False, workspace=ws)]
    assert before == after  # refused before a version was created
    with pytest.raises(InvalidInput) as err:
        promote(aliased, 1, workspace=ws)
    assert "reason-required" in err.value.message
    with pytest.raises(InvalidInput, match="reason-required"):
        promote(aliased, 1, reason="  ", workspace=ws)
    move = promote(aliased, "challenger", reason="beats v1 on recall", workspace=ws)
    assert (move.from_version, move.to_version, move.via) == (None, 2, "promote")
    promote(aliased, 3, reason="hotfix", workspace=ws)
    with pytest.raises(Conflict, match="protected-alias"):
        remove_alias(aliased, "champion", reason="cleanup", workspace=ws)
    history = alias_history(aliased, "champion", workspace=ws)
    assert [(m.from_version, m.to_version, m.reason) for m in history] == [
        (2, 3, "hotfix"), (None, 2, "beats v1 on recall")]
    assert get_model_version(f"models:/{aliased}@champion", workspace=ws).version == 3


def test_protection_is_configurable_per_model(ws, aliased):
    from jupyter_mlops.core.errors import Conflict
    from jupyter_mlops.core.registry import (
        alias_history,
        protect_alias,
        protected_aliases,
        set_alias,
        unprotect_alias,
    )

    assert protect_alias(aliased, "prod", workspace=ws) == ["champion", "prod"]
    assert protected_aliases("other-model", workspace=ws) == ["champion"]
    with pytest.raises(Conflict, match="'prod' of model 'aliased' is protected"):
        set_alias(aliased, "prod", 1, workspace=ws)
    with pytest.raises(InvalidInput, match="reason-required"):
        unprotect_alias(aliased, "champion", workspace=ws)
    assert unprotect_alias(aliased, "champion", reason="sandbox model",
                           workspace=ws) == ["prod"]
    assert set_alias(aliased, "champion", 1, workspace=ws).via == "set"
    assert list_events(ws, kind="registry.policy", subject=aliased)[0].data["reason"] == \
        "sandbox model"
    assert [m.alias for m in alias_history(aliased, workspace=ws, limit=2)] == ["champion",
                                                                               "champion"]
    with pytest.raises(NotFound, match="Registered models"):
        alias_history("never-registered", workspace=ws)


def test_the_registry_migration_matches_its_models_and_downgrades(tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from jupyter_mlops.core.db import Base
    from jupyter_mlops.core.db.engine import create_state_engine
    from jupyter_mlops.core.db.migrate import alembic_config, upgrade

    engine = create_state_engine(f"sqlite:///{tmp_path / 'state.db'}")
    upgrade(engine)
    ours = {"registry_alias_history", "registry_gate_results", "registry_alias_policies"}
    assert ours <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if ours & {getattr(x, "name", None) for x in _walk(d)}
            or any(getattr(x, "table", None) is not None and x.table.name in ours
                   for x in _walk(d))]
    assert mine == []
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_registry-1")
    assert not ours & set(inspect(engine).get_table_names())
    assert "datasets" in inspect(engine).get_table_names()
    engine.dispose()


def _walk(diff):
    """The objects inside one autogenerate diff entry (tuples, possibly nested)."""
    if isinstance(diff, (list, tuple)):
        for item in diff:
            yield from _walk(item)
    else:
        yield diff
