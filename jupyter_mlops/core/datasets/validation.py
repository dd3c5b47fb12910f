"""Declarative expectations for a dataset, and a report of where data breaks them.

The form is a small JSON document stored with the dataset, so the panel can
show and edit it and a pipeline step can gate on it without Python code:

    {"columns": {"age": {"type": "integer", "nullable": false, "min": 0, "max": 120},
                 "country": {"type": "string", "allowed": ["DE", "FR"]},
                 "id": {"unique": true}},
     "allow_extra_columns": true, "min_rows": 1}

Every check counts its offending values and keeps up to five examples, so a
failure says what to fix, not only that something is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..errors import InvalidInput
from ..workspace import Workspace
from . import catalog
from .access import get_version, load_dataset, read_table_file
from .profile import json_label
from .runtime import resolve_workspace
from .types import DatasetVersion, validate_name

TYPES = ("integer", "float", "numeric", "string", "boolean", "datetime", "categorical", "any")
COLUMN_KEYS = {"type", "dtype", "nullable", "min", "max", "allowed", "unique", "pattern",
               "required"}
TABLE_KEYS = {"columns", "allow_extra_columns", "min_rows", "max_rows"}
MAX_EXAMPLES = 5


class ExpectationsFailed(InvalidInput):
    """Data broke its dataset's expectations; a pipeline gate stops on this."""

    code = "validation_failed"


@dataclass
class Failure:
    column: str | None
    check: str
    count: int
    examples: list[Any]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ValidationReport:
    passed: bool
    rows: int
    columns_checked: int
    failures: list[Failure] = field(default_factory=list)
    dataset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "rows": self.rows, "columns_checked": self.columns_checked,
                "dataset": self.dataset, "failures": [f.to_dict() for f in self.failures]}

    def summary(self) -> str:
        what = f"dataset {self.dataset!r}" if self.dataset else "the data"
        if self.passed:
            return f"{what}: all expectations met ({self.rows:,} rows)."
        lines = [f"{what}: {len(self.failures)} expectation(s) failed on {self.rows:,} rows:"]
        lines += [f"  - {f.message}" for f in self.failures]
        return "\n".join(lines)

    def raise_for_failures(self) -> ValidationReport:
        """The gate: a pipeline step calls this and stops with the summary as its message."""
        if not self.passed:
            raise ExpectationsFailed(self.summary(), details=self.to_dict())
        return self

    def _repr_html_(self) -> str:
        import html

        colour = "green" if self.passed else "#c62828"
        items = "".join(f"<li>{html.escape(f.message)}</li>" for f in self.failures)
        head = html.escape(self.summary().splitlines()[0])
        return f'<div><b style="color:{colour}">{head}</b><ul>{items}</ul></div>'


def normalize_expectations(spec: Any) -> dict[str, Any]:
    """Check the form once, when stored, so `validate` never trips on a typo later."""
    if not isinstance(spec, dict):
        raise InvalidInput("Expectations must be a dict like {'columns': {'age': {...}}}.")
    unknown = set(spec) - TABLE_KEYS
    if unknown:
        raise InvalidInput(f"Unknown expectation keys {sorted(unknown)}; "
                           f"allowed: {sorted(TABLE_KEYS)}.")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise InvalidInput("'columns' must map column names to their expectations.")
    for name, rules in columns.items():
        if not isinstance(rules, dict):
            raise InvalidInput(f"Expectations of column {name!r} must be a dict.")
        bad = set(rules) - COLUMN_KEYS
        if bad:
            raise InvalidInput(f"Unknown expectation keys {sorted(bad)} for column {name!r}; "
                               f"allowed: {sorted(COLUMN_KEYS)}.")
        if "type" in rules and rules["type"] not in TYPES:
            raise InvalidInput(f"Column {name!r}: type {rules['type']!r} is not one of {TYPES}.")
        if "allowed" in rules and not isinstance(rules["allowed"], list):
            raise InvalidInput(f"Column {name!r}: 'allowed' must be a list of values.")
        if "pattern" in rules:
            try:
                re.compile(rules["pattern"])
            except (re.error, TypeError) as exc:
                raise InvalidInput(f"Column {name!r}: bad pattern: {exc}.") from exc
    for key in ("min_rows", "max_rows"):
        if spec.get(key) is not None and (not isinstance(spec[key], int) or spec[key] < 0):
            raise InvalidInput(f"{key} must be a non-negative integer.")
    return {**spec, "columns": {str(k): dict(v) for k, v in columns.items()}}


def set_expectations(name: str, spec: dict[str, Any] | None,
                     workspace: Workspace | None = None) -> dict[str, Any] | None:
    """Store (or with None, clear) the dataset's expectations; returns what was stored."""
    validate_name(name)
    normalized = None if spec is None else normalize_expectations(spec)
    catalog.store_expectations(resolve_workspace(workspace), name, normalized)
    return normalized


def get_expectations(name: str, workspace: Workspace | None = None) -> dict[str, Any] | None:
    validate_name(name)
    return catalog.get_expectations(resolve_workspace(workspace), name)


def suggest_expectations(name: str, version: str | None = "latest",
                         workspace: Workspace | None = None) -> dict[str, Any]:
    """A starting point read off a version's profile: types, nullability, ranges, categories."""
    found = get_version(name, version, workspace)
    if not found.profile:
        raise InvalidInput(f"{name}@{found.short} has no profile to suggest expectations from.")
    kinds = {"numeric": "numeric", "datetime": "datetime", "boolean": "boolean",
             "categorical": "categorical", "text": "string"}
    columns: dict[str, Any] = {}
    for col in found.profile["columns"]:
        rules: dict[str, Any] = {"nullable": bool(col.get("missing"))}
        if col["kind"] in kinds:
            rules["type"] = kinds[col["kind"]]
        if col["kind"] == "numeric" and col.get("min") is not None:
            rules.update(min=col["min"], max=col["max"])
        cats = col.get("categories")
        if col["kind"] == "categorical" and cats and not cats["truncated"] \
                and len(cats["values"]) <= 20:
            rules["allowed"] = sorted(cats["values"], key=str)
        columns[col["name"]] = rules
    return {"columns": columns, "allow_extra_columns": True}


# -- checking --------------------------------------------------------------------------------
def _examples(values: pd.Series) -> list[Any]:
    return [json_label(v) for v in values.head(MAX_EXAMPLES).tolist()]


def _type_offenders(series: pd.Series, kind: str) -> pd.Series:
    """Non-null values that are not of the expected type (empty when all conform)."""
    valid = series.dropna()
    if kind in ("any", "categorical") or valid.empty:
        return valid.iloc[:0]
    if kind == "boolean":
        if pdt.is_bool_dtype(series.dtype):
            return valid.iloc[:0]
        return valid[~valid.map(lambda v: isinstance(v, (bool, np.bool_)))]
    if kind == "string":
        if pdt.is_string_dtype(series.dtype) and series.dtype != object:
            return valid.iloc[:0]
        return valid[~valid.map(lambda v: isinstance(v, str))]
    if kind == "datetime":
        if pdt.is_datetime64_any_dtype(series.dtype):
            return valid.iloc[:0]
        parsed = pd.to_datetime(valid, errors="coerce", format="mixed")
        return valid[parsed.isna()]
    if pdt.is_bool_dtype(series.dtype):
        return valid
    numbers = pd.to_numeric(valid, errors="coerce")
    bad = numbers.isna()
    if kind == "integer":
        arr = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = bad | ~pd.Series(np.isfinite(arr) & (np.mod(arr, 1) == 0), index=valid.index)
    return valid[bad]


def _comparable(series: pd.Series, kind: str | None) -> pd.Series:
    if kind == "datetime" or pdt.is_datetime64_any_dtype(series.dtype):
        return pd.to_datetime(series, errors="coerce", format="mixed")
    return pd.to_numeric(series, errors="coerce")


def _bound(value: Any, kind: str | None, series: pd.Series) -> Any:
    if kind == "datetime" or pdt.is_datetime64_any_dtype(series.dtype):
        ts = pd.Timestamp(value)
        tz = getattr(series.dtype, "tz", None)
        return ts.tz_localize(tz) if tz is not None and ts.tzinfo is None else ts
    return value


def _check_column(name: str, series: pd.Series, rules: dict[str, Any]) -> list[Failure]:
    out: list[Failure] = []
    kind = rules.get("type")

    def fail(check: str, offenders: pd.Series, message: str, examples: list[Any] | None = None
             ) -> None:
        # "{n}" is substituted by hand: the message may quote user text with braces in it
        if len(offenders):
            out.append(Failure(name, check, int(len(offenders)),
                               examples if examples is not None else _examples(offenders),
                               message.replace("{n}", f"{len(offenders):,}")))

    if "dtype" in rules and str(series.dtype) != rules["dtype"]:
        out.append(Failure(name, "dtype", len(series), [str(series.dtype)],
                           f"column {name!r} has dtype {series.dtype}, expected {rules['dtype']}"))
    if kind:
        fail("type", _type_offenders(series, kind), f"column {name!r}: {{n}} value(s) are not {kind}")
    if rules.get("nullable") is False:
        nulls = series[series.isna()]
        fail("nullable", nulls, f"column {name!r}: {{n}} missing value(s) where none are allowed",
             examples=[json_label(i) for i in nulls.index[:MAX_EXAMPLES]])
    if rules.get("min") is not None or rules.get("max") is not None:
        values = _comparable(series, kind)
        for key, op in (("min", values.lt), ("max", values.gt)):
            if rules.get(key) is not None:
                bad = series[op(_bound(rules[key], kind, series)).fillna(False).astype(bool)]
                word = "below" if key == "min" else "above"
                fail(key, bad, f"column {name!r}: {{n}} value(s) {word} {rules[key]!r}")
    if rules.get("allowed") is not None:
        allowed = set(rules["allowed"])
        valid = series.dropna()
        fail("allowed", valid[~valid.isin(allowed)],
             f"column {name!r}: {{n}} value(s) outside the allowed categories")
    if rules.get("pattern"):
        valid = series.dropna().astype(str)
        matched = valid.str.fullmatch(rules["pattern"]).fillna(False).astype(bool)
        fail("pattern", valid[~matched], f"column {name!r}: {{n}} value(s) do not match "
                                         f"{rules['pattern']!r}")
    if rules.get("unique"):
        valid = series.dropna()
        dupes = valid[valid.duplicated(keep=False)]
        fail("unique", dupes, f"column {name!r}: {{n}} value(s) are duplicated",
             examples=_examples(dupes.drop_duplicates()))
    return out


def check_frame(df: pd.DataFrame, spec: dict[str, Any]) -> ValidationReport:
    spec = normalize_expectations(spec)
    failures: list[Failure] = []
    present = {str(c): c for c in df.columns}
    checked = 0
    for name, rules in spec["columns"].items():
        if name not in present:
            if rules.get("required", True):
                failures.append(Failure(name, "present", 1, [],
                                        f"column {name!r} is missing"))
            continue
        checked += 1
        failures.extend(_check_column(name, df[present[name]], rules))
    if spec.get("allow_extra_columns") is False:
        extra = [c for c in present if c not in spec["columns"]]
        if extra:
            failures.append(Failure(None, "extra_columns", len(extra), extra[:MAX_EXAMPLES],
                                    f"unexpected column(s): {', '.join(extra)}"))
    for key, word, bad in (("min_rows", "fewer", lambda lim: len(df) < lim),
                           ("max_rows", "more", lambda lim: len(df) > lim)):
        if spec.get(key) is not None and bad(spec[key]):
            failures.append(Failure(None, key, len(df), [],
                                    f"{len(df):,} rows: {word} than {spec[key]:,}"))
    return ValidationReport(not failures, len(df), checked, failures)


def validate(data: Any, name_or_expectations: str | dict[str, Any],
             workspace: Workspace | None = None, *, raise_on_failure: bool = False
             ) -> ValidationReport:
    """Check a DataFrame (or a table version, or a tabular file) against expectations.

    `name_or_expectations` is a dataset name (its stored expectations) or an
    expectations dict. `raise_on_failure=True` turns the check into a gate.
    """
    dataset = None
    if isinstance(name_or_expectations, str):
        dataset = validate_name(name_or_expectations)
        spec = get_expectations(dataset, workspace)
        if not spec:
            raise InvalidInput(f"Dataset {dataset!r} has no expectations yet; store them with "
                               "set_expectations(name, {...}) or pass a dict.")
    else:
        spec = name_or_expectations
    if isinstance(data, DatasetVersion):
        if data.kind == "folder":  # its checkout is a folder: "no file at …" would mislead
            raise InvalidInput(f"{data.name}@{data.short} is a folder; only tables and "
                               "tabular files (CSV, Parquet, JSON) can be validated.")
        data = load_dataset(data.name, data.version, workspace)
    if isinstance(data, (str, Path)):
        path = Path(data).expanduser()
        if not path.is_file():
            raise InvalidInput(f"There is no file at {path} to validate.")
        data = read_table_file(path, path.suffix.lower())
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"Cannot validate a {type(data).__name__}: pass a pandas DataFrame, "
                        "a table DatasetVersion or a path to a tabular file.")
    report = check_frame(data, spec)
    report.dataset = dataset
    return report.raise_for_failures() if raise_on_failure else report
