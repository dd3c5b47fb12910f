"""A synthetic customer-churn data set with a shift that can be injected on demand.

Realistic enough for the loop to mean something: churn depends on tenure,
monthly charges, support calls and contract type, so a shift in those
features (what `shift > 0` does) both drifts the inputs and degrades a model
trained before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CONTRACTS = ("month-to-month", "one-year", "two-year")
REGIONS = ("north", "south", "east", "west")
FEATURES = ("tenure_months", "monthly_charges", "support_calls", "contract", "region",
            "paperless_billing")
TARGET = "churned"


def generate(rows: int = 5000, *, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Customers with a `churned` label; `shift` in [0, 1] moves the population toward churn."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0 * (1.0 - 0.5 * shift), rows).clip(0, 72).round()
    charges = rng.normal(65.0 + 25.0 * shift, 20.0, rows).clip(18, 150).round(2)
    calls = rng.poisson(1.5 + 3.0 * shift, rows)
    contract_p = np.array([0.5 + 0.3 * shift, 0.3 - 0.15 * shift, 0.2 - 0.15 * shift])
    contract = rng.choice(CONTRACTS, rows, p=contract_p / contract_p.sum())
    region = rng.choice(REGIONS, rows, p=[0.3, 0.3, 0.2, 0.2])
    paperless = rng.random(rows) < 0.55 + 0.2 * shift
    logit = (-1.2 - 0.05 * tenure + 0.02 * (charges - 65) + 0.45 * calls
             + np.select([contract == "month-to-month", contract == "one-year"], [1.1, 0.0], -0.9)
             + 0.3 * paperless)
    churned = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    return pd.DataFrame({
        "customer_id": np.arange(rows) + seed * 1_000_000,
        "tenure_months": tenure.astype("int64"),
        "monthly_charges": charges,
        "support_calls": calls.astype("int64"),
        "contract": pd.Categorical(contract, categories=CONTRACTS),
        "region": pd.Categorical(region, categories=REGIONS),
        "paperless_billing": paperless,
        TARGET: churned,
    })


def feature_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """One-hot encoding with fixed categories, so training and serving agree on columns."""
    numeric = frame[["tenure_months", "monthly_charges", "support_calls"]].astype("float64")
    contract = pd.get_dummies(pd.Categorical(frame["contract"], categories=CONTRACTS),
                              prefix="contract", dtype="float64")
    region = pd.get_dummies(pd.Categorical(frame["region"], categories=REGIONS),
                            prefix="region", dtype="float64")
    paperless = frame[["paperless_billing"]].astype("float64")
    return pd.concat([numeric.reset_index(drop=True), contract, region,
                      paperless.reset_index(drop=True)], axis=1)


def train(frame: pd.DataFrame, *, c: float = 1.0, seed: int = 0) -> tuple[Any, dict[str, float]]:
    """A scikit-learn pipeline and its held-out metrics (accuracy, F1, ROC AUC)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = feature_matrix(frame)
    y = frame[TARGET].to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
    model.fit(x_train, y_train)
    scores = model.predict_proba(x_test)[:, 1]
    predicted = scores >= 0.5
    return model, {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted)),
        "roc_auc": float(roc_auc_score(y_test, scores)),
    }
