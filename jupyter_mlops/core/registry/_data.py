"""Dataset versions as the registry reads them: for signatures and for gates.

`load_dataset()` tells the lineage hooks that the active run read the data,
which is right inside a training cell and wrong for a gate (a held-out set
scored outside any run, or inside an unrelated one). The registry therefore
reads version objects directly and records inputs itself, on the run it means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..workspace import Workspace

DATASET_SOURCE_PREFIX = "mlops-dataset://"


def split_dataset_ref(ref: str) -> tuple[str, str]:
    """`holdout@v3` → (`holdout`, `v3`); `holdout` → (`holdout`, `latest`)."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"A dataset reference is 'name@version' (or a name), got {ref!r}.")
    name, sep, version = ref.strip().partition("@")
    if sep and not version:
        raise InvalidInput(f"Dataset reference {ref!r} has an empty version after '@'.")
    return name, (version or "latest")


def resolve_dataset_version(ref: Any, ws: Workspace) -> Any:
    """A `DatasetVersion` from `name@version`, a name, or a `DatasetVersion` itself."""
    from ..datasets import DatasetVersion, get_version

    if isinstance(ref, DatasetVersion):
        return ref
    if isinstance(ref, str):
        name, version = split_dataset_ref(ref)
        return get_version(name, version, workspace=ws)
    raise InvalidInput(
        f"Expected a dataset reference 'name@version' or a DatasetVersion, got "
        f"{type(ref).__name__}. Snapshot a DataFrame first: jupyter_mlops.snapshot(df, 'holdout').")


def read_frame(version: Any, ws: Workspace) -> Any:
    """The version's rows as a DataFrame, without notifying lineage hooks."""
    import pandas as pd

    from ..datasets.access import read_table_file
    from ..datasets.objects import store_for

    store = store_for(ws)
    if version.kind == "folder":
        raise InvalidInput(f"{version.name}@{version.short} is a folder; a model is scored on a "
                           "table (a DataFrame snapshot, or a CSV/Parquet/JSON file).")
    if not store.exists(version.version):
        raise NotFound(f"The object of {version.name}@{version.short} is missing from "
                       f"{store.url}; snapshot the data again.")
    path = store.local_path(version.version)
    if version.kind == "table":
        return pd.read_parquet(path)
    return read_table_file(path, Path(version.source or "").suffix.lower())


def dataset_ref(version: Any) -> str:
    """The reference recorded in the audit trail: the full content hash, never a tag."""
    return f"{version.name}@{version.version}"


def parse_dataset_source(source: str | None) -> tuple[str, str] | None:
    """(`name`, `version`) from an MLflow dataset source `mlops-dataset://name@version`."""
    if not source or not source.startswith(DATASET_SOURCE_PREFIX):
        return None
    name, sep, version = source[len(DATASET_SOURCE_PREFIX):].partition("@")
    return (name, version) if sep and name and version else None


def log_dataset_input(client: Any, run_id: str, version: Any, *, context: str = "training") -> None:
    """Record `version` as an input of `run_id`, the way the datasets' tracking hook does."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    schema = json.dumps({"mlflow_colspec": [
        {"name": c.get("name"), "type": str(c.get("dtype", c.get("type", "")))}
        for c in (version.schema or [])][:200]})
    dataset = Dataset(name=version.name, digest=version.version, source_type="jupyter-mlops",
                      source=f"{DATASET_SOURCE_PREFIX}{version.name}@{version.version}",
                      schema=schema, profile=json.dumps({"rows": version.rows,
                                                         "bytes": version.bytes}))
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])])
