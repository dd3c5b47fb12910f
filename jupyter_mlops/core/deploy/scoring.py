"""Scoring through a deployment from Python: payloads in MLflow's formats, answers back.

`_payload()` turns what a notebook has at hand (a DataFrame, records, an
array, a ready scoring document) into MLflow's scoring JSON; `read_answer()`
turns the router's answer into pandas, keeping the index and naming the
version that answered, or into the error a user can act on (`ModelError`
when the model raised, `InvalidInput` when it refused the input).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import BackendUnavailable, InvalidInput, MLOpsError


class ModelError(MLOpsError):
    """The model raised while predicting (the model server answered 500)."""

    code = "model_error"


def _payload(data: Any) -> tuple[bytes, Any]:
    """MLflow's scoring JSON for what a notebook has at hand; the index to put back."""
    import pandas as pd

    if isinstance(data, (bytes, str)):
        return (data.encode() if isinstance(data, str) else data), None
    if isinstance(data, pd.Series):
        data = data.to_frame().T  # one record: the index names the columns
    if isinstance(data, pd.DataFrame):
        body = data.to_json(orient="split", index=False, date_format="iso")
        return ('{"dataframe_split": ' + body + "}").encode(), data.index
    if isinstance(data, dict):
        if {"dataframe_split", "dataframe_records", "instances", "inputs"} & set(data):
            return json.dumps(data, default=str).encode(), None
        values = list(data.values())
        if values and all(isinstance(v, (list, tuple)) for v in values):
            return _payload(pd.DataFrame(data))
        return json.dumps({"dataframe_records": [data]}, default=str).encode(), None
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(item, dict) for item in data):
            return json.dumps({"dataframe_records": list(data)}, default=str).encode(), None
        return json.dumps({"inputs": list(data)}, default=str).encode(), None
    if hasattr(data, "tolist"):
        return json.dumps({"inputs": data.tolist()}).encode(), None
    raise InvalidInput(f"Cannot send {type(data).__name__} to a model; pass a DataFrame, "
                       "records, or an MLflow scoring payload.")


def read_answer(answer: Any, index: Any, deployment: str) -> Any:
    """The router's answer (an httpx response) as pandas, or the error to raise."""
    import pandas as pd

    answered_by = answer.headers.get("x-mlops-version")
    if answer.status_code >= 400:
        try:
            message = answer.json().get("message") or answer.text
        except ValueError:
            message = answer.text
        details = {"status": answer.status_code, "version": answered_by}
        if answer.status_code == 500:
            raise ModelError(f"{answered_by}: {message}", details=details)
        if answer.status_code >= 500:
            raise BackendUnavailable(message, details=details)
        raise InvalidInput(f"{answered_by or deployment} refused the input: {message}",
                           details=details)
    predictions = answer.json()
    if isinstance(predictions, dict):
        predictions = predictions.get("predictions", predictions)
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        result = pd.DataFrame.from_records(predictions)
        if index is not None and len(index) == len(result):
            result.index = index
    elif isinstance(predictions, dict):
        result = pd.DataFrame(predictions)
    else:
        result = pd.Series(predictions, name="prediction")
        if index is not None and len(index) == len(result):
            result.index = index
    result.attrs["version"] = answered_by
    result.attrs["request_id"] = answer.headers.get("x-request-id")
    return result
