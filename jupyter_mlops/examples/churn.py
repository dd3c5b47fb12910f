"""A synthetic customer-churn data set with a shift that can be injected on demand.

Realistic enough for the loop to mean something: churn depends on tenure,
monthly charges, support calls and contract type. A shift (`shift > 0`)
moves the population (longer bills, more support calls, more month-to-month
contracts: the inputs drift) *and* changes why customers leave (a competitor
courts customers with high bills; tenure protects less): a model trained
before the shift ranks the new customers worse, and one retrained on them wins
the gate. With `shift=0` the data is what it always was (tests rely on it).

`Market` is the simulated world of the demo project: its state (the current
shift) lives in a small JSON file of the workspace, so the traffic sender, the
`prepare` notebook of a pipeline and a walkthrough cell all see the same
customers, and `Market.outcomes()` plays the CRM that tells later which of the
customers a deployment scored actually churned (the labels of a window).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CONTRACTS = ("month-to-month", "one-year", "two-year")
REGIONS = ("north", "south", "east", "west")
NUMERIC = ("tenure_months", "monthly_charges", "support_calls")
CATEGORICAL = ("contract", "region")
FEATURES = ("tenure_months", "monthly_charges", "support_calls", "contract", "region",
            "paperless_billing")
TARGET = "churned"


def churn_logit(frame: pd.DataFrame, concept: float = 0.0) -> np.ndarray:
    """Log-odds of churn; `concept` > 0 is the changed market (zero keeps the original)."""
    tenure = frame["tenure_months"].to_numpy(dtype="float64")
    charges = frame["monthly_charges"].to_numpy(dtype="float64")
    calls = frame["support_calls"].to_numpy(dtype="float64")
    contract = np.asarray(frame["contract"].astype(str))
    paperless = frame["paperless_billing"].to_numpy(dtype="float64")
    logit = (-1.2 - 0.05 * tenure + 0.02 * (charges - 65) + 0.45 * calls
             + np.select([contract == "month-to-month", contract == "one-year"], [1.1, 0.0], -0.9)
             + 0.3 * paperless)
    if concept:
        # a competitor courts high bills; loyalty counts less; calls say less than they did
        logit = logit + concept * (0.06 * (charges - 65) + 0.05 * tenure - 0.5 * calls
                                   + 1.0 * paperless)
    return logit


def generate(rows: int = 5000, *, shift: float = 0.0, seed: int = 0,
             concept: float | None = None) -> pd.DataFrame:
    """Customers with a `churned` label; `shift` in [0, 1] moves the population toward churn
    (and, unless `concept` says otherwise, changes the reasons by as much)."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    if not 0.0 <= shift <= 1.0:
        raise ValueError("shift is between 0 and 1")
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0 * (1.0 - 0.5 * shift), rows).clip(0, 72).round()
    charges = rng.normal(65.0 + 25.0 * shift, 20.0, rows).clip(18, 150).round(2)
    calls = rng.poisson(1.5 + 3.0 * shift, rows)
    contract_p = np.array([0.5 + 0.3 * shift, 0.3 - 0.15 * shift, 0.2 - 0.15 * shift])
    contract = rng.choice(CONTRACTS, rows, p=contract_p / contract_p.sum())
    region = rng.choice(REGIONS, rows, p=[0.3, 0.3, 0.2, 0.2])
    paperless = rng.random(rows) < 0.55 + 0.2 * shift
    frame = pd.DataFrame({
        "customer_id": np.arange(rows) + seed * 1_000_000,
        "tenure_months": tenure.astype("int64"),
        "monthly_charges": charges,
        "support_calls": calls.astype("int64"),
        "contract": pd.Categorical(contract, categories=CONTRACTS),
        "region": pd.Categorical(region, categories=REGIONS),
        "paperless_billing": paperless,
    })
    logit = churn_logit(frame, shift if concept is None else concept)
    frame[TARGET] = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    return frame


def label(frame: pd.DataFrame, *, concept: float = 0.0, seed: int = 0) -> np.ndarray:
    """Who of these customers churned (drawn from the market's churn odds)."""
    rng = np.random.default_rng(seed)
    return rng.random(len(frame)) < 1.0 / (1.0 + np.exp(-churn_logit(frame, concept)))


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs as a scoring request carries them (categories as plain strings)."""
    out = frame.loc[:, list(FEATURES)].copy()
    for column in CATEGORICAL:
        out[column] = out[column].astype(str)
    out["paperless_billing"] = out["paperless_billing"].astype(bool)
    return out.reset_index(drop=True)


def make_model(c: float = 1.0) -> Any:
    """A scikit-learn pipeline over the raw customer columns: what the deployment serves, so a
    request and the prediction log hold the same columns as the training snapshot."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer([
        ("numeric", StandardScaler(), list(NUMERIC)),
        ("categorical", OneHotEncoder(categories=[list(CONTRACTS), list(REGIONS)],
                                      handle_unknown="ignore"), list(CATEGORICAL)),
        ("flag", "passthrough", ["paperless_billing"]),
    ])
    return make_pipeline(columns, LogisticRegression(C=c, max_iter=500))


def scores(y_true: Any, y_score: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true, dtype=bool)
    y_score = np.asarray(y_score, dtype="float64")
    predicted = y_score >= 0.5
    return {"accuracy": float(accuracy_score(y_true, predicted)),
            "f1": float(f1_score(y_true, predicted)),
            "roc_auc": float(roc_auc_score(y_true, y_score))}


def fit(frame: pd.DataFrame, *, c: float = 1.0, seed: int = 0) -> tuple[Any, dict[str, float]]:
    """`make_model` fitted on raw columns, with metrics on a quarter held out of `frame`."""
    from sklearn.model_selection import train_test_split

    x, y = features(frame), frame[TARGET].astype(bool).to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    model = make_model(c).fit(x_train, y_train)
    metrics = scores(y_test, model.predict_proba(x_test)[:, 1])
    return model.fit(x, y), metrics


def feature_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """One-hot encoding with fixed categories, so training and serving agree on columns."""
    numeric = frame[list(NUMERIC)].astype("float64")
    contract = pd.get_dummies(pd.Categorical(frame["contract"], categories=CONTRACTS),
                              prefix="contract", dtype="float64")
    region = pd.get_dummies(pd.Categorical(frame["region"], categories=REGIONS),
                            prefix="region", dtype="float64")
    paperless = frame[["paperless_billing"]].astype("float64")
    return pd.concat([numeric.reset_index(drop=True), contract, region,
                      paperless.reset_index(drop=True)], axis=1)


def train(frame: pd.DataFrame, *, c: float = 1.0, seed: int = 0) -> tuple[Any, dict[str, float]]:
    """A scikit-learn pipeline over `feature_matrix` and its held-out metrics (accuracy, F1,
    ROC AUC). Kept for callers that serve one-hot matrices; the demo project uses `fit`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = feature_matrix(frame)
    y = frame[TARGET].to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
    model.fit(x_train, y_train)
    return model, scores(y_test, model.predict_proba(x_test)[:, 1])


class Market:
    """The demo's simulated customers: a shift stored in `<root>/data/market.json`.

    `customers(n)` are today's customers (what a scoring request carries);
    `outcomes(frame)` says which of them churned, as a CRM does weeks later;
    `change(shift)` is the drift a walkthrough injects.
    """

    FILE = Path("data") / "market.json"

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        base = root or os.environ.get("JUPYTER_MLOPS_WORKSPACE") or os.getcwd()
        self.path = Path(base) / self.FILE

    @property
    def shift(self) -> float:
        try:
            return float(json.loads(self.path.read_text(encoding="utf-8"))["shift"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0.0

    def change(self, shift: float) -> float:
        """Move the market (0 = as the champion knew it, 1 = far away); returns the old shift."""
        if not 0.0 <= float(shift) <= 1.0:
            raise ValueError("shift is between 0 and 1")
        old = self.shift
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"shift": float(shift)}), encoding="utf-8")
        os.replace(tmp, self.path)
        return old

    def customers(self, rows: int, *, seed: int = 0, labelled: bool = False) -> pd.DataFrame:
        frame = generate(rows, shift=self.shift, seed=seed)
        return frame if labelled else features(frame)

    def outcomes(self, frame: pd.DataFrame, *, seed: int = 0) -> np.ndarray:
        return label(frame, concept=self.shift, seed=seed)
