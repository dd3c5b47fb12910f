"""Seed a registered model with a champion and a challenger in a server's root.

Used by the jest client tests (src/__tests__/registry.spec.ts) and the browser
test (ui-tests/tests/models.spec.ts), the way a training notebook in that folder
would: a training and a held-out snapshot of the churn example, two runs that
fit real scikit-learn models, v1 (weak: never predicts churn) promoted to
@champion with a reason, v2 (a fitted logistic regression) registered as
@challenger. Prints what it made as one JSON line.

    python seed_models.py ROOT MODEL_NAME
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(root: str, name: str) -> dict[str, object]:
    import nbformat
    from sklearn.linear_model import LogisticRegression

    from jupyter_mlops.core.datasets import load_dataset, snapshot
    from jupyter_mlops.core.registry import promote, register_model
    from jupyter_mlops.core.tracking import start_run
    from jupyter_mlops.core.workspace import Workspace
    from jupyter_mlops.examples import churn

    base = Path(root).resolve()
    notebook = f"{name}-train.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fit()")]),
                   str(base / notebook))
    os.environ["JUPYTER_MLOPS_NOTEBOOK"] = notebook
    os.chdir(base)
    ws = Workspace.resolve(base)

    def labelled(frame):
        return churn.feature_matrix(frame).assign(churned=frame["churned"].to_numpy())

    train = snapshot(labelled(churn.generate(400, seed=0)), f"{name}-train", workspace=ws)
    holdout = snapshot(labelled(churn.generate(300, seed=7)), f"{name}-holdout",
                       tags=["v1"], workspace=ws)
    runs = {}
    for key, c in (("weak", 1e-5), ("strong", 1.0)):
        with start_run(experiment=name, name=f"train-{key}", workspace=ws) as run:
            df = load_dataset(f"{name}-train", workspace=ws)
            x, y = df.drop(columns="churned"), df["churned"]
            model = LogisticRegression(C=c, max_iter=300).fit(x, y)
            run.log(train_accuracy=float(model.score(x, y)))
            register_model(model, name, dataset=df, workspace=ws,
                           alias="challenger" if key == "strong" else None)
            runs[key] = run.id
    promote(name, 1, reason="baseline", workspace=ws)
    ws.close()
    return {"model": name, "notebook": notebook, "train": train.version,
            "holdout": holdout.version, "holdout_name": f"{name}-holdout", "runs": runs}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
