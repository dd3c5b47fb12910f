"""A page of runs ordered by a metric, param or tag, fast on MLflow's SQLite store.

MLflow orders by `metrics.x` through a subquery on `latest_metrics` joined to
`runs`; SQLite (3.40 here) runs that subquery as a co-routine, scanned once
per run (`SCAN anon_1 LEFT-JOIN` in EXPLAIN QUERY PLAN), so sorting the runs
table by a metric took 4-5 s on an experiment of 10,000 runs. Here the same
ordering is a plain LEFT JOIN on the key's primary-key index: the page's run
ids come from one query, then MLflow reads those runs (`run_id IN (...)`).

Same answer as MLflow's own search, by construction: MLflow's ordering rules
(real values, then NaN, then runs without the key; ties by start time, newest
first, then run id), its view of active runs only, and its page tokens (an
offset), so a page token from either path continues on the other. Used only
where it applies: a SQLAlchemy store on SQLite, no filter, one ordering on a
metric, param or tag; everything else goes to MLflow unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: MLflow's key types (SearchUtils) this path orders by
_ENTITY_TYPES = ("metric", "parameter", "tag")


def _sqlite_store(client: Any) -> Any | None:
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    engine = getattr(store, "engine", None)
    if engine is None or getattr(engine.dialect, "name", "") != "sqlite":
        return None
    return store


def _ordering(orders: Sequence[str]) -> tuple[str, str, bool] | None:
    """(key type, key, ascending) of the one ordering this path handles, else None."""
    if len(orders) != 1:
        return None
    from mlflow.utils.search_utils import SearchUtils

    try:
        key_type, key, ascending = SearchUtils.parse_order_by_for_search_runs(orders[0])
    except Exception:  # MLflow's own search reports a malformed ordering in its words
        return None
    if key_type not in _ENTITY_TYPES:
        return None
    return key_type, key, bool(ascending)


def sorted_run_ids(client: Any, experiment_ids: Sequence[str], filter_string: str | None,
                   orders: Sequence[str], page_size: int, page_token: str | None
                   ) -> tuple[list[str], str | None] | None:
    """The ids of one page in MLflow's order and the next page's token; None when MLflow's
    own search should answer (another store, a filter, another ordering)."""
    if filter_string and filter_string.strip():
        return None
    ordering = _ordering(orders)
    store = _sqlite_store(client) if ordering is not None else None
    if store is None or ordering is None:
        return None
    import sqlalchemy as sa
    from mlflow.entities import LifecycleStage
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlParam, SqlRun, SqlTag
    from mlflow.utils.search_utils import SearchUtils

    key_type, key, ascending = ordering
    entity = {"metric": SqlLatestMetric, "parameter": SqlParam, "tag": SqlTag}[key_type]
    if key_type == "metric":
        missing_last = sa.case((entity.is_nan == sa.true(), 1), (entity.value.is_(None), 2),
                               else_=0)
    else:
        missing_last = sa.case((entity.value.is_(None), 1), else_=0)
    offset = SearchUtils.parse_start_offset_from_page_token(page_token)
    query = (sa.select(SqlRun.run_uuid)
             .outerjoin(entity, sa.and_(entity.run_uuid == SqlRun.run_uuid, entity.key == key))
             .where(SqlRun.experiment_id.in_([int(i) for i in experiment_ids]),
                    SqlRun.lifecycle_stage == LifecycleStage.ACTIVE)
             .order_by(missing_last, entity.value if ascending else entity.value.desc(),
                       SqlRun.start_time.desc(), SqlRun.run_uuid)
             .offset(offset).limit(page_size + 1))
    with store.ManagedSessionMaker() as session:
        ids = [row[0] for row in session.execute(query)]
    more = len(ids) > page_size
    ids = ids[:page_size]
    return ids, SearchUtils.create_page_token(offset + page_size) if more else None


def runs_in_order(client: Any, experiment_ids: Sequence[str], ids: Sequence[str]) -> list[Any]:
    """MLflow's runs for `ids` (one search), in the order of `ids`."""
    if not ids:
        return []
    quoted = ", ".join(f"'{run_id}'" for run_id in ids)  # run ids are hex: nothing to escape
    found = client.search_runs(list(experiment_ids), filter_string=f"attributes.run_id IN "
                               f"({quoted})", max_results=len(ids))
    by_id = {run.info.run_id: run for run in found}
    return [by_id[run_id] for run_id in ids if run_id in by_id]
