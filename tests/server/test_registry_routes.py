"""The registry routes through the real Jupyter server (pytest-jupyter's jp_fetch).

The server's own workspace (its root_dir) gets what a training notebook in
that folder would make, in-process: a training and a held-out snapshot, two
runs that read the training snapshot and fit real scikit-learn models, both
registered (v1 the champion, v2 the challenger). The gate, the promotion, the
alias history and the lineage then go over REST, as the Models panel does.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from mlops_rest import call
from registry_seed import ENV_CLEARED, labelled, seed_two_models

from jupyter_mlops.core.datasets import snapshot
from jupyter_mlops.core.tracking import active_run, refresh_context
from jupyter_mlops.examples import churn

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def registry(jp_root_dir: Path, monkeypatch):
    """`churn` v1 (a weak model, @champion) and v2 (a good one, @challenger), each trained in
    its own run from the notebook `train.ipynb` on the `churn-train` snapshot."""
    for name in ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_MLOPS_NOTEBOOK", "train.ipynb")
    monkeypatch.chdir(jp_root_dir)
    seeded = seed_two_models(jp_root_dir)
    ws = seeded["ws"]
    snapshot(labelled(churn.generate(50, seed=9)).drop(columns=["support_calls", "region_east"]),
             "narrow", workspace=ws)
    yield seeded
    assert active_run() is None
    refresh_context()
    ws.close()


async def test_gate_promote_history_and_lineage(jp_fetch, registry) -> None:
    train, holdout, runs = registry["train"], registry["holdout"], registry["runs"]

    code, listing = await call(jp_fetch, "registry/models")
    assert code == 200, listing
    [model] = listing["models"]
    assert model["name"] == "churn" and model["latest_version"] == 2
    assert model["aliases"] == {"champion": 1, "challenger": 2}
    assert model["protected"] == ["champion"]

    code, detail = await call(jp_fetch, "registry/models/churn")
    assert code == 200 and [v["version"] for v in detail["versions"]] == [2, 1]
    v2 = detail["versions"][0]
    assert v2["aliases"] == ["challenger"] and v2["run_id"] == runs["strong"]
    assert v2["flavor"] == "sklearn" and 0.5 < v2["metrics"]["train_accuracy"] <= 1
    assert v2["source_notebook"] == "train.ipynb" and v2["notebook_path"] == "train.ipynb"
    assert [d["version"] for d in v2["datasets"] if d["name"] == "churn-train"] == [train.version]
    code, by_alias = await call(jp_fetch, "registry/models/churn/versions/champion")
    assert code == 200 and by_alias["version"] == 1 and by_alias["run_id"] == runs["weak"]
    code, versions = await call(jp_fetch, "registry/models/churn/versions")
    assert code == 200 and [v["version"] for v in versions["versions"]] == [2, 1]

    # the gate: the challenger must beat the champion's F1 by 0.05 on the held-out snapshot
    code, result = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "challenger": "challenger", "against": "champion",
        "dataset": "churn-holdout@v1", "metrics": {"f1": {"min_delta": 0.05},
                                                   "roc_auc": {"min": 0.6}}})
    assert code == 201, result
    assert result["passed"] is True and result["promoted"] is False
    assert (result["challenger"], result["champion"]) == (2, 1)
    assert result["dataset"] == f"churn-holdout@{holdout.version}" and result["rows"] == 300
    assert result["target"] == "churned" and result["task"] == "classification"
    f1 = next(c for c in result["checks"] if c["metric"] == "f1")
    assert f1["passed"] is True and f1["champion"] == 0.0 and f1["challenger"] > 0.05
    assert result["scores"]["champion"]["f1"] == 0.0
    assert result["verdict"] == "PASSED" and "churn-holdout@" in result["headline"]

    # a stricter gate rejects the same pair, and is recorded too
    code, rejected = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "dataset": "churn-holdout@v1", "metrics": {"f1": {"min": 0.99}},
        "promote": True})
    assert code == 201 and rejected["passed"] is False and rejected["promoted"] is False
    assert "0.99" in rejected["reasons"][0]
    code, gates = await call(jp_fetch, "registry/gates", params={"model": "churn"})
    assert code == 200 and [g["id"] for g in gates["gates"]] == [rejected["id"], result["id"]]
    code, again = await call(jp_fetch, "registry/gates", str(result["id"]))
    assert code == 200 and again["checks"] == result["checks"]

    # champion is protected: a move without a reason is refused, naming the rule
    code, error = await call(jp_fetch, "registry/models/churn/aliases/champion", method="PUT",
                             body={"version": 2})
    assert code == 409 and "protected-alias" in error["message"]
    assert error["details"]["rule"] == "protected-alias"
    code, error = await call(jp_fetch, "registry/models/churn/promote", method="POST",
                             body={"version": "challenger", "reason": "  "})
    assert code == 400 and "reason-required" in error["message"]
    code, error = await call(jp_fetch, "registry/models/churn/aliases/champion", method="DELETE")
    assert code == 409 and error["details"]["rule"] == "protected-alias"

    code, moved = await call(jp_fetch, "registry/models/churn/promote", method="POST",
                             body={"version": "challenger",
                                   "reason": f"gate #{result['id']} passed"})
    assert code == 200, moved
    assert moved["moved"] is True and moved["move"]["via"] == "promote"
    assert (moved["move"]["from_version"], moved["move"]["to_version"]) == (1, 2)
    assert moved["alias"]["version"] == 2 and moved["alias"]["protected"] is True
    code, same = await call(jp_fetch, "registry/models/churn/promote", method="POST",
                            body={"version": 2, "reason": "again"})
    assert code == 200 and same["moved"] is False and same["move"] is None

    # an unprotected alias moves freely; a protected one moves with a reason (as a promotion)
    code, staged = await call(jp_fetch, "registry/models/churn/aliases/staging", method="PUT",
                              body={"version": 1})
    assert code == 200 and staged["move"]["via"] == "set" and staged["alias"]["version"] == 1
    code, back = await call(jp_fetch, "registry/models/churn/aliases/champion", method="PUT",
                            body={"version": 1, "reason": "rollback drill"})
    assert code == 200 and back["move"]["via"] == "promote"
    code, removed = await call(jp_fetch, "registry/models/churn/aliases/staging",
                               method="DELETE", params={"reason": "done"})
    assert code == 200 and removed["move"]["to_version"] is None
    assert removed["alias"]["version"] is None

    code, aliases = await call(jp_fetch, "registry/models/churn/aliases")
    assert code == 200 and aliases["aliases"] == {"challenger": 2, "champion": 1}
    moves = [(m["alias"], m["from_version"], m["to_version"], m["via"], m["reason"])
             for m in aliases["history"]]
    assert moves == [("staging", 1, None, "remove", "done"),
                     ("champion", 2, 1, "promote", "rollback drill"),
                     ("staging", None, 1, "set", None),
                     ("champion", 1, 2, "promote", f"gate #{result['id']} passed"),
                     ("champion", None, 1, "promote", "baseline"),
                     ("challenger", None, 2, "register", None)]
    code, champion = await call(jp_fetch, "registry/models/churn/aliases/champion")
    assert code == 200 and [m["to_version"] for m in champion["history"]] == [1, 2, 1]
    code, only = await call(jp_fetch, "registry/models/churn/aliases",
                            params={"alias": "champion", "limit": 1})
    assert [m["reason"] for m in only["history"]] == ["rollback drill"]

    # lineage of v2: back to its run, the notebook and the training snapshot
    code, graph = await call(jp_fetch, "registry/models/churn/versions/2/lineage")
    assert code == 200, graph
    nodes = {n["kind"]: n for n in graph["nodes"]}
    assert graph["root"] == "model:churn/2" and nodes["model_version"]["open"]["version"] == 2
    assert nodes["run"]["open"] == {"type": "run", "run_id": runs["strong"],
                                    "experiment_id": nodes["run"]["data"]["experiment_id"]}
    assert nodes["notebook"]["open"] == {"type": "notebook", "path": "train.ipynb"}
    assert nodes["dataset_version"]["open"] == {"type": "dataset", "name": "churn-train",
                                                "version": train.version}
    relations = {(e["source"], e["relation"], e["target"]) for e in graph["edges"]}
    assert ("model:churn/2", "produced_by", f"run:{runs['strong']}") in relations
    assert (f"run:{runs['strong']}", "read", f"dataset:churn-train@{train.version}") in relations
    assert (f"run:{runs['strong']}", "ran", "notebook:train.ipynb") in relations
    code, by_alias = await call(jp_fetch, "registry/models/churn/versions/challenger/lineage")
    assert code == 200 and by_alias["root"] == "model:churn/2"


async def test_bad_input_names_what_exists(jp_fetch, registry) -> None:
    code, error = await call(jp_fetch, "registry/models/ghost")
    assert code == 404 and "churn" in error["message"] and error["details"]["models"] == ["churn"]
    code, error = await call(jp_fetch, "registry/models/churn/versions/9")
    assert code == 404 and error["details"]["versions"] == [1, 2]
    assert "@champion → v1" in error["message"]
    code, error = await call(jp_fetch, "registry/models/churn/versions/staging/lineage")
    assert code == 404 and error["details"]["aliases"] == {"champion": 1, "challenger": 2}
    code, error = await call(jp_fetch, "registry/models/churn/aliases/prod")
    assert code == 404 and "@champion" in error["message"] and "@challenger" in error["message"]
    code, error = await call(jp_fetch, "registry/models/churn/aliases/latest")
    assert code == 400 and "reserved" in error["message"]
    code, error = await call(jp_fetch, "registry/models/churn/aliases/prod", method="PUT",
                             body={"version": 7})
    assert code == 404 and error["details"]["versions"] == [1, 2]
    code, error = await call(jp_fetch, "registry/models/ghost/aliases")
    assert code == 404 and error["details"]["models"] == ["churn"]
    code, error = await call(jp_fetch, "registry/models", quote("bad@name", safe=""))
    assert code == 400 and "Invalid model name" in error["message"]

    # a held-out set without the model's input columns: 400 naming them
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "dataset": "narrow"})
    assert code == 400, error
    assert error["details"]["missing"] == ["support_calls", "region_east"]
    assert "support_calls, region_east" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "dataset": "churn-holdout@v9"})
    assert code == 404 and "v1" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "dataset": "churn-holdout", "metrics": {"fun": {"min": 1}}})
    assert code == 400 and "Unknown metric 'fun'" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "dataset": "churn-holdout", "metrics": {"f1": {"min_dleta": 1}}})
    assert code == 400 and "min_dleta" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={
        "model": "churn", "challenger": "champion", "dataset": "churn-holdout"})
    assert code == 400 and "same version" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", method="POST", body={"model": "churn"})
    assert code == 400 and error["details"][0]["field"] == "dataset"
    code, error = await call(jp_fetch, "registry/gates", "77")
    assert code == 404 and "no gate has run yet" in error["message"]
    code, error = await call(jp_fetch, "registry/gates", params={"model": "ghost"})
    assert code == 404
    code, error = await call(jp_fetch, "registry/models/churn/promote", method="POST",
                             body={"version": 2})
    assert code == 400 and error["details"]["rule"] == "reason-required"
    code, error = await call(jp_fetch, "registry/models/churn/promote", method="POST",
                             body="[1]")
    assert code == 400 and "JSON object" in error["message"]
