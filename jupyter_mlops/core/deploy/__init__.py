"""Deployments: model versions behind a router with release strategies.

    from jupyter_mlops import deploy, deployments
    dep = deploy("churn@champion", name="churn-api")                 # local target
    dep.set_strategy("canary", model="churn@challenger", steps=[5, 25, 50, 100], bake=60)

Layout of the package:

- `service.py` — the workbench API: `deploy()`, `deployments()`,
  `get_deployment()`, `reconcile()`, the prediction-log readers;
- `handle.py` — the `Deployment` handle (state, health, commands, stop/start);
- `references.py` — model references (`churn@champion`, `churn/3`, …);
- `state.py` — the deployment rows in the state DB; `processes.py` — ports
  and router processes; `scoring.py` — payloads and answers of `predict()`;
  `naming.py` — deployment names;
- `router_main.py` — the process of one deployment (router + supervisor);
- `supervisor.py` — versions, health, rollout (canary steps, automatic
  rollback), state in the DB;
- `router.py` — the ASGI router; `upstream.py` its client to the versions;
- `strategies.py` — strategy parameters and traffic splitting (pure);
- `metrics.py` — per-version rate, error rate, p50/p95, the canary verdict;
- `predictions.py` — the Parquet prediction log and its readers;
- `shadow.py` — the shadow comparison (agreement, prediction drift);
- `targets/` — `local` (a process per version) and `docker` (an image and
  a container per version), pluggable by name;
- `model_server.py` — our MLflow-compatible scoring server (standalone);
- `render.py` — HTML of a deployment and a shadow comparison in a cell;
- `demo_models.py`, `loadgen.py` — small registered models and a bounded
  load generator for demos, tests and `benchmarks/deploy/`.

Nothing heavy is imported until used. (The API module is `service.py`, not
`deployments.py`: a submodule named like the `deployments()` function would
replace it as an attribute of this package once imported.)
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "deploy": "service", "deployments": "service", "get_deployment": "service",
    "reconcile": "service", "resolve_model": "service", "Deployment": "service",
    "DeployedVersion": "service", "ResolvedModel": "service",
    "ModelError": "service",
    "read_predictions": "service", "prediction_frame": "service",
    "shadow_comparison": "service", "ShadowComparison": "shadow",
    "PredictionLog": "predictions",
    "StrategySpec": "strategies", "parse_strategy": "strategies",
    "target_names": "targets", "get_target": "targets",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_EXPORTS)
