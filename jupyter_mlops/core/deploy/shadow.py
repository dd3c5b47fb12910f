"""The shadow comparison: how a mirrored challenger answered, next to the champion.

Each mirrored request in the prediction log (`shadow=True`) is paired with
the answer the caller got (same request id); the comparison gives the share
of rows where both agree, the mean absolute difference of numeric
predictions, and the drift of the challenger's predictions against the
champion's (the workbench's drift engine, with its defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NotFound
from .predictions import parse_outputs, read_log


@dataclass
class ShadowComparison:
    """How a shadow (challenger) answered the requests the champion answered."""

    deployment: str
    champion: str | None
    challenger: str | None
    requests: int
    rows: int
    agreement_rate: float | None
    mean_abs_diff: float | None
    challenger_errors: int
    champion_p50_ms: float | None
    challenger_p50_ms: float | None
    drift_test: str | None
    drift_statistic: float | None
    drift_p_value: float | None
    drifted: bool | None
    distribution: dict[str, dict[str, float]] | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def _repr_html_(self) -> str:
        from .render import shadow_html

        return shadow_html(self)


def compare_shadow(predictions_dir: Path, deployment: str, *, since: Any = None,
                      last: int | None = None, challenger: str | None = None,
                      tolerance: float = 1e-6) -> ShadowComparison:
    """Pair each mirrored answer with the answer the caller got (same request id) and
    compare: the share of rows where both agree (numbers within `tolerance`), the mean
    absolute difference of numeric predictions, and the drift of the challenger's
    predictions against the champion's (the workbench's drift engine, same defaults)."""
    import numpy as np
    import pandas as pd

    log = read_log(predictions_dir, deployment, since=since)
    if log.empty:
        raise NotFound(f"Deployment {deployment!r} has no logged predictions yet.")
    mirrored = log[log["shadow"]]
    if challenger is not None:
        mirrored = mirrored[mirrored["version"] == challenger]
    if last is not None:
        mirrored = mirrored.tail(last)
    answered = log[~log["shadow"]].drop_duplicates("request_id", keep="last")
    pairs = mirrored.merge(answered, on="request_id", suffixes=("_c", "_p"))
    champion_key = pairs["version_p"].mode().iloc[0] if len(pairs) else None
    challenger_key = (pairs["version_c"].mode().iloc[0] if len(pairs)
                      else (challenger or (mirrored["version"].iloc[-1]
                                           if len(mirrored) else None)))
    errors = int((~pairs["status_c"].between(200, 299)).sum()) if len(pairs) else 0
    left: list[Any] = []
    right: list[Any] = []
    for row in pairs.itertuples(index=False):
        if not (200 <= int(row.status_c) < 300 and 200 <= int(row.status_p) < 300):
            continue
        a, b = parse_outputs(row.response_p), parse_outputs(row.response_c)
        if a is None or b is None or len(a) != len(b):
            continue
        left.extend(a)
        right.extend(b)
    agreement = mad = None
    drift_test = drift_stat = drift_p = drifted = None
    distribution = None
    if left:
        a = pd.Series(left)
        b = pd.Series(right)
        numeric = (pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
                   and not pd.api.types.is_bool_dtype(a))
        if numeric:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            agreement = float(np.mean(np.isclose(x, y, rtol=tolerance, atol=tolerance)))
            mad = float(np.mean(np.abs(x - y)))
        else:
            agreement = float(np.mean(a.astype(str).to_numpy() == b.astype(str).to_numpy()))
            distribution = {
                "champion": a.astype(str).value_counts(normalize=True).round(4).to_dict(),
                "challenger": b.astype(str).value_counts(normalize=True).round(4).to_dict(),
            }
        try:
            from ..drift import drift

            ref = pd.DataFrame({"prediction": a if numeric else a.astype(str)})
            cur = pd.DataFrame({"prediction": b if numeric else b.astype(str)})
            column = drift(ref, cur).columns[0]
            drift_test, drift_stat = column.test, column.statistic
            drift_p, drifted = column.p_value, column.drifted
        except Exception:
            pass
    p50 = (lambda s: float(s.median()) if len(s) else None)
    return ShadowComparison(
        deployment=deployment, champion=champion_key, challenger=challenger_key,
        requests=int(len(pairs)), rows=len(left), agreement_rate=agreement,
        mean_abs_diff=mad, challenger_errors=errors,
        champion_p50_ms=p50(pairs["latency_ms_p"]) if len(pairs) else None,
        challenger_p50_ms=p50(pairs["latency_ms_c"]) if len(pairs) else None,
        drift_test=drift_test, drift_statistic=drift_stat, drift_p_value=drift_p,
        drifted=drifted, distribution=distribution)
