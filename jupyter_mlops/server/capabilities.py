"""The capabilities the frontend can adapt to, derived from the routes actually served.

A capability counts as available only when this server registers at least
one of its routes, so an older server with a newer frontend degrades to
"not available" instead of 404s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: (id, label, description) in the order the MLOps panel shows them
CAPABILITIES: tuple[tuple[str, str, str], ...] = (
    ("experiments", "Experiments", "Runs logged to MLflow, with notebook and data lineage"),
    ("datasets", "Datasets", "Content-addressed snapshots, profiles and validation"),
    ("pipelines", "Pipelines", "Papermill pipelines on schedules and triggers"),
    ("drift", "Drift", "Reference vs current data, with plots"),
    ("models", "Models", "Registry with champion/challenger gate and lineage"),
    ("deployments", "Deployments", "Local and Docker serving with rollout strategies"),
    ("monitors", "Monitors", "Drift monitors that trigger retraining"),
    ("notifications", "Notifications", "Webhooks for alerts, failed runs and rollouts"),
)


def capability_list(routes: Iterable[Any]) -> list[dict[str, Any]]:
    served = {route.capability for route in routes}
    return [
        {"id": cid, "label": label, "description": desc, "available": cid in served}
        for cid, label, desc in CAPABILITIES
    ]
