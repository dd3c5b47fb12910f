"""What a training notebook leaves in a workspace, made in-process for the registry tests.

`churn` v1 (a weak model, then @champion) and v2 (a good one, @challenger),
each fitted in its own run of `train.ipynb` on the `churn-train` snapshot, plus
a held-out snapshot `churn-holdout` tagged `v1`. Shared by the REST and CLI
tests of the registry; the caller sets the environment (notebook path, cwd).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from jupyter_mlops.core.datasets import load_dataset, snapshot
from jupyter_mlops.core.registry import promote, register_model
from jupyter_mlops.core.tracking import refresh_context, start_run
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

#: variables that would attach the seed's runs to another notebook or parent run
ENV_CLEARED = ("JUPYTER_MLOPS_OBJECTS_URL", "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", "JPY_SESSION_NAME",
               "JUPYTER_MLOPS_PARENT_RUN_ID")


def labelled(frame: Any) -> Any:
    return churn.feature_matrix(frame).assign(churned=frame["churned"].to_numpy())


def seed_two_models(root: Path) -> dict[str, Any]:
    """Needs `JUPYTER_MLOPS_NOTEBOOK=train.ipynb` and `root` as the current directory."""
    from sklearn.linear_model import LogisticRegression

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fit()")]),
                   str(root / "train.ipynb"))
    refresh_context()
    ws = Workspace.resolve(root)
    train = snapshot(labelled(churn.generate(400, seed=0)), "churn-train", workspace=ws)
    holdout = snapshot(labelled(churn.generate(300, seed=7)), "churn-holdout", tags=["v1"],
                       workspace=ws)
    runs = {}
    for key, c in (("weak", 1e-5), ("strong", 1.0)):
        with start_run(experiment="churn", name=f"train-{key}", workspace=ws) as run:
            df = load_dataset("churn-train", workspace=ws)
            x, y = df.drop(columns="churned"), df["churned"]
            model = LogisticRegression(C=c, max_iter=300).fit(x, y)
            run.log(train_accuracy=float(model.score(x, y)))
            register_model(model, "churn", dataset=df, workspace=ws,
                           alias="challenger" if key == "strong" else None)
            runs[key] = run.id
    promote("churn", 1, reason="baseline", workspace=ws)
    return {"ws": ws, "root": root, "train": train, "holdout": holdout, "runs": runs}
