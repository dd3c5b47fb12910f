"""Small registered model versions for demos, tests and the router benchmark.

- `register_churn_model()` — the example churn classifier (scikit-learn,
  with a signature), as a new version of a registered model;
- `register_constant_model()` — a pyfunc answering one value (quick to load);
- `register_faulty_model()` — a pyfunc that raises on a share of requests
  (the "injected errors" of a canary that must roll back);
- `register_slow_model()` — a pyfunc that answers after a delay (a canary
  whose p95 regresses).

The pyfuncs are "models from code" (a small Python file logged with the
model), so they load in any process without pickled classes.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..workspace import Workspace

_FAULTY = '''
import itertools
import mlflow.pyfunc
import pandas as pd


class Faulty(mlflow.pyfunc.PythonModel):
    """Raises on {share:.0%} of requests (every request when 1.0)."""

    def load_context(self, context):
        self.count = itertools.count()

    def predict(self, context, model_input, params=None):
        n = next(self.count)
        if {share} >= 1.0 or (n % 100) < {share} * 100:
            raise RuntimeError("injected failure (request %d)" % n)
        return pd.Series([False] * len(model_input))


mlflow.models.set_model(Faulty())
'''

_CONSTANT = '''
import mlflow.pyfunc
import pandas as pd


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return pd.Series([{value!r}] * len(model_input))


mlflow.models.set_model(Constant())
'''

_SLOW = '''
import time
import mlflow.pyfunc
import pandas as pd


class Slow(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        time.sleep({delay})
        return pd.Series([False] * len(model_input))


mlflow.models.set_model(Slow())
'''


def _requirements(*names: str) -> list[str]:
    """`name==version` of this environment for mlflow and `names`."""
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for name in ("mlflow", *names):
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pinned.append(name)
    return pinned


@contextmanager
def _bound_uris(ws: Workspace) -> Iterator[None]:
    """MLflow's fluent API reads process-global URIs: point them at the workspace."""
    try:
        from ..registry._common import bound_mlflow_uris
    except ImportError:  # the registry capability is not installed
        bound_mlflow_uris = None
    if bound_mlflow_uris is not None:
        with bound_mlflow_uris(ws):
            yield
        return
    import os

    import mlflow

    saved = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(ws.tracking_uri)
    mlflow.set_registry_uri(ws.tracking_uri)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"] or "")
        mlflow.set_registry_uri(saved["MLFLOW_REGISTRY_URI"] or "")


def _register(ws: Workspace, name: str, log: Any, alias: str | None) -> str:
    """Log with `log(mlflow)` inside a run of the workspace and register; the version."""
    import mlflow

    with _bound_uris(ws):
        from ..tracking._mlflow import ensure_experiment

        client = ws.mlflow.client
        experiment_id = ensure_experiment(client, ws, "deploy-demo")
        with mlflow.start_run(experiment_id=experiment_id):
            info = log(mlflow)
        version = mlflow.register_model(info.model_uri, name)
        if alias:
            client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)


def register_churn_model(ws: Workspace, name: str = "churn", *, c: float = 1.0,
                         seed: int = 0, rows: int = 600, alias: str | None = None) -> str:
    """Train the example churn model and register it as a new version of `name`."""
    from mlflow.models import infer_signature

    from ...examples import churn

    frame = churn.generate(rows, seed=seed)
    model, _ = churn.train(frame, c=c, seed=seed)
    features = churn.feature_matrix(frame)
    signature = infer_signature(features, model.predict(features))

    def log(mlflow: Any) -> Any:
        # requirements given, not inferred: inference loads the model in a subprocess
        return mlflow.sklearn.log_model(model, name="model", signature=signature,
                                        serialization_format="cloudpickle",
                                        pip_requirements=_requirements("scikit-learn",
                                                                       "cloudpickle", "pandas"))

    return _register(ws, name, log, alias)


def _code_model(ws: Workspace, name: str, code: str, alias: str | None) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model_code.py"
        path.write_text(textwrap.dedent(code))

        def log(mlflow: Any) -> Any:
            import warnings

            with warnings.catch_warnings():  # "add type hints": these models take any frame
                warnings.simplefilter("ignore", UserWarning)
                return mlflow.pyfunc.log_model(name="model", python_model=str(path),
                                               pip_requirements=_requirements("pandas"))

        return _register(ws, name, log, alias)


def register_constant_model(ws: Workspace, name: str = "churn", *, value: Any = False,
                            alias: str | None = None) -> str:
    """A version that answers `value` for every row (loads in about a second)."""
    return _code_model(ws, name, _CONSTANT.format(value=value), alias)


def register_faulty_model(ws: Workspace, name: str = "churn", *, share: float = 1.0,
                          alias: str | None = None) -> str:
    """A version that raises (HTTP 500) on `share` of its requests."""
    return _code_model(ws, name, _FAULTY.format(share=float(share)), alias)


def register_slow_model(ws: Workspace, name: str = "churn", *, delay: float = 0.05,
                        alias: str | None = None) -> str:
    """A version that takes `delay` seconds per request."""
    return _code_model(ws, name, _SLOW.format(delay=float(delay)), alias)
