"""Logging a fitted model object into a run, with the right MLflow flavour.

Flavours, in order: xgboost and lightgbm models when those packages are
importable (their own flavours keep native boosters loadable), any
scikit-learn estimator or pipeline (`sklearn`), an `mlflow.pyfunc.PythonModel`
as it is, and anything else with a `predict` method wrapped in a small
`PythonModel` (`pyfunc`).

The signature and input example come from a dataset version or a DataFrame:
the model's own `feature_names_in_` when it has them, else every column but
the label. Predicting on a sample both types the output and proves the model
accepts the columns before anything is stored.

How it is stored, and why not with `mlflow.<flavour>.log_model`: MLflow's
`log_model` reads the process-global tracking URI and the fluent active run,
while our tracking core deliberately uses neither (a kernel may talk to one
workspace while `mlflow.set_tracking_uri` says another). The same result is
built from client calls bound to the workspace: `create_logged_model` (an
MLflow 3 logged model whose source run is the run), the flavour's
`save_model` into a temporary folder, `log_model_artifacts`, `log_outputs`
(links the model to the run, as `log_model` does) and `finalize_logged_model`.
The model therefore appears under the run's "Logged models" in the MLflow UI
exactly like one logged with `log_model`.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, MLOpsError
from ..workspace import Workspace
from ._common import client_of, mlflow_errors
from ._data import log_dataset_input, read_frame, resolve_dataset_version

log = logging.getLogger("jupyter_mlops.core.registry")

#: label columns tried, in order, when the caller does not name one
LABEL_CANDIDATES = ("label", "target", "y", "class", "churned")
SAMPLE_ROWS = 200
EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class LoggedModelInfo:
    """What `log_model_object` stored: enough to register it and to show it."""

    model_id: str
    run_id: str
    artifact_location: str
    flavor: str
    name: str
    has_signature: bool
    input_columns: list[str] | None

    @property
    def uri(self) -> str:
        return f"models:/{self.model_id}"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def is_model_object(obj: Any) -> bool:
    """Anything a registry call should log rather than look up."""
    if isinstance(obj, (str, bytes)) or obj is None:
        return False
    from .models import ModelVersion

    if isinstance(obj, ModelVersion):
        return False
    return callable(getattr(obj, "predict", None)) or _is_python_model(obj)


def _is_python_model(obj: Any) -> bool:
    try:
        from mlflow.pyfunc import PythonModel
    except ImportError:  # pragma: no cover - mlflow is a dependency
        return False
    return isinstance(obj, PythonModel)


def detect_flavor(obj: Any) -> str:
    """`xgboost`, `lightgbm`, `sklearn` or `pyfunc` for a fitted model object."""
    top = type(obj).__module__.split(".")[0]
    if top == "xgboost" and _importable("xgboost"):
        return "xgboost"
    if top == "lightgbm" and _importable("lightgbm"):
        return "lightgbm"
    if _importable("sklearn"):
        from sklearn.base import BaseEstimator

        if isinstance(obj, BaseEstimator):
            return "sklearn"
    if _is_python_model(obj) or callable(getattr(obj, "predict", None)):
        return "pyfunc"
    raise InvalidInput(f"Cannot log a {type(obj).__name__}: a model needs a predict() method "
                       "(or must be an mlflow.pyfunc.PythonModel).")


def guess_target(columns: list[str], inputs: list[str] | None = None,
                 target: str | None = None) -> str | None:
    """The label column: the one given, the one column that is not an input, or a usual name."""
    if target is not None:
        if target not in columns:
            raise InvalidInput(f"The label column {target!r} is not in the data; columns: "
                               f"{', '.join(map(str, columns))}.", details={"columns": columns})
        return target
    if inputs is not None:
        rest = [c for c in columns if c not in set(inputs)]
        if len(rest) == 1:
            return rest[0]
    for name in LABEL_CANDIDATES:
        if name in columns:
            return name
    return None


def feature_frame(model: Any, frame: Any, target: str | None) -> tuple[Any, str | None]:
    """The columns the model takes (`feature_names_in_`, else all but the label) and the label."""
    columns = [str(c) for c in frame.columns]
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in columns]
        if missing:
            raise InvalidInput(
                f"The data lacks columns the model was fitted on: {', '.join(missing)}.",
                details={"missing": missing})
        return frame[names], guess_target(columns, names, target)
    label = guess_target(columns, None, target)
    return (frame.drop(columns=[label]) if label else frame), label


def _python_model_for(obj: Any) -> Any:
    """`obj` itself if it is a PythonModel, else a wrapper calling its predict.

    The wrapper class is made inside this function so that cloudpickle stores it
    by value: the saved model then loads without jupyter-mlops installed.
    """
    import mlflow.pyfunc
    import pandas as pd

    if _is_python_model(obj):
        return obj

    def __init__(self, model):  # type: ignore[no-untyped-def]
        self.model = model

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return self.model.predict(model_input)

    # A DataFrame hint: MLflow then neither converts the input nor warns about missing hints
    # (set before the class exists: PythonModel inspects predict() when subclassed, and this
    # module's postponed annotations would be strings it cannot resolve).
    predict.__annotations__ = {"model_input": pd.DataFrame}
    PredictWrapper = type("PredictWrapper", (mlflow.pyfunc.PythonModel,),
                          {"__init__": __init__, "predict": predict})
    return PredictWrapper(obj)


def _sklearn_serialization(obj: Any) -> str:
    """skops (MLflow's safer default) when every type in the model is one skops trusts,
    else cloudpickle: a custom class would otherwise save fine and fail to load."""
    if not _importable("skops"):
        return "cloudpickle"
    try:
        import skops.io

        return "cloudpickle" if skops.io.get_untrusted_types(data=skops.io.dumps(obj)) \
            else "skops"
    except Exception:
        return "cloudpickle"


def save_model_object(obj: Any, path: Path, flavor: str, *, mlflow_model: Any = None,
                      signature: Any = None, input_example: Any = None,
                      pip_requirements: list[str] | None = None) -> None:
    """Write `obj` as an MLflow model folder at `path` with the flavour's `save_model`."""
    common: dict[str, Any] = {"mlflow_model": mlflow_model, "signature": signature,
                              "input_example": input_example}
    if flavor == "sklearn":
        import mlflow.sklearn

        fmt = _sklearn_serialization(obj)
        reqs = pip_requirements or mlflow.sklearn.get_default_pip_requirements(
            include_cloudpickle=fmt == "cloudpickle", include_skops=fmt == "skops")
        mlflow.sklearn.save_model(obj, str(path), serialization_format=fmt,
                                  pip_requirements=reqs, **common)
    elif flavor == "xgboost":
        import mlflow.xgboost

        reqs = pip_requirements or mlflow.xgboost.get_default_pip_requirements()
        mlflow.xgboost.save_model(obj, str(path), pip_requirements=reqs, **common)
    elif flavor == "lightgbm":
        import mlflow.lightgbm

        reqs = pip_requirements or mlflow.lightgbm.get_default_pip_requirements()
        mlflow.lightgbm.save_model(obj, str(path), pip_requirements=reqs, **common)
    else:
        import mlflow.pyfunc

        # pip_requirements None: MLflow infers them by loading the model in a subprocess
        # (a few seconds), the only way to know what an arbitrary object imports
        mlflow.pyfunc.save_model(str(path), python_model=_python_model_for(obj),
                                 pip_requirements=pip_requirements, **common)


def infer_signature_from(obj: Any, data: Any,
                         target: str | None = None) -> tuple[Any, Any, list[str]]:
    """(signature, input example, input columns) from a DataFrame the model can score."""
    from mlflow.models import infer_signature

    features, _label = feature_frame(obj, data, target)
    sample = features.head(SAMPLE_ROWS)
    if len(sample) == 0:
        raise InvalidInput("The data to infer a signature from has no rows.")
    try:
        if _is_python_model(obj):
            predictions = obj.predict(None, sample)
        else:
            predictions = obj.predict(sample)
    except Exception as exc:
        raise InvalidInput(f"The model could not predict on the data's columns "
                           f"({', '.join(map(str, sample.columns))}): {type(exc).__name__}: "
                           f"{exc}") from exc
    signature = infer_signature(sample, predictions)
    return signature, features.head(EXAMPLE_ROWS), [str(c) for c in features.columns]


def log_model_object(obj: Any, *, run_id: str, workspace: Workspace, dataset: Any = None,
                     target: str | None = None, name: str = "model", signature: Any = None,
                     input_example: Any = None, pip_requirements: list[str] | None = None,
                     tags: dict[str, str] | None = None) -> LoggedModelInfo:
    """Log `obj` into run `run_id` as an MLflow 3 logged model (see the module docstring).

    `dataset` is a dataset reference (`"train@v2"`), a `DatasetVersion` or a
    DataFrame; a dataset version is also recorded as an input of the run.
    """
    import pandas as pd
    from mlflow.entities import LoggedModelOutput
    from mlflow.models import Model

    flavor = detect_flavor(obj)
    ws = workspace
    client = client_of(ws)
    version = None
    frame = None
    if dataset is not None:
        if isinstance(dataset, pd.DataFrame):
            frame = dataset
        else:
            version = resolve_dataset_version(dataset, ws)
            frame = read_frame(version, ws)
    columns: list[str] | None = None
    if signature is None and frame is not None:
        signature, example, columns = infer_signature_from(obj, frame, target)
        if input_example is None:
            input_example = example
    uri = ws.tracking_uri
    with mlflow_errors(uri, not_found=f"Run {run_id!r} not found."):
        run = client.get_run(run_id)
        logged = client.create_logged_model(
            experiment_id=run.info.experiment_id, name=name, source_run_id=run_id,
            params={k: str(v)[:6000] for k, v in run.data.params.items()},
            tags={"mlops.flavor": flavor, **(tags or {})})
    try:
        with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
            path = Path(tmp, "model")
            mlflow_model = Model(artifact_path=logged.artifact_location,
                                 model_uuid=logged.model_id, run_id=run_id,
                                 model_id=logged.model_id)
            save_model_object(obj, path, flavor, mlflow_model=mlflow_model, signature=signature,
                              input_example=input_example, pip_requirements=pip_requirements)
            with mlflow_errors(uri):
                client.log_model_artifacts(logged.model_id, str(path))
        with mlflow_errors(uri):
            client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
            if version is not None:
                log_dataset_input(client, run_id, version, context="training")
            client.finalize_logged_model(logged.model_id, "READY")
    except BaseException as exc:
        try:
            client.finalize_logged_model(logged.model_id, "FAILED")
        except Exception:  # the original error matters more
            log.debug("could not mark logged model %s failed", logged.model_id, exc_info=True)
        if isinstance(exc, (MLOpsError, KeyboardInterrupt)):
            raise
        if isinstance(exc, Exception) and type(exc).__module__.startswith("mlflow"):
            raise InvalidInput(f"MLflow could not save the {flavor} model: {exc}") from exc
        raise
    return LoggedModelInfo(model_id=logged.model_id, run_id=run_id,
                           artifact_location=logged.artifact_location, flavor=flavor, name=name,
                           has_signature=signature is not None, input_columns=columns)
