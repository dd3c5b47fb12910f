"""Ordering by a metric, param or tag: the fast SQLite path gives MLflow's own answer.

Runs are made with MLflow's client in a real SQLite store: real values, NaN,
runs without the key, ties (which fall back to start time, then run id) and a
deleted run. Each ordering is read page by page through `search_runs` (the
fast path) and compared with MLflow's own `search_runs` over the whole list.
"""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.core.tracking import search_runs
from jupyter_mlops.core.tracking._mlflow import client_of, ensure_experiment
from jupyter_mlops.core.tracking.sorted_page import sorted_run_ids
from jupyter_mlops.core.workspace import Workspace

ORDERINGS = ["metrics.acc DESC", "metrics.acc ASC", "metrics.acc", "params.depth ASC",
             "params.depth DESC", "tags.team DESC", "metrics.`loss` ASC"]


@pytest.fixture(scope="module")
def experiment(module_ws: Workspace) -> str:
    client = client_of(module_ws)
    experiment_id = ensure_experiment(client, module_ws, "ordering")
    for i in range(61):
        run = client.create_run(experiment_id, start_time=1_000_000 + (i % 7) * 1000,
                                run_name=f"r{i:02d}")
        run_id = run.info.run_id
        if i % 9 == 4:
            client.log_metric(run_id, "acc", math.nan)
        elif i % 9 != 7:  # some runs never logged acc
            client.log_metric(run_id, "acc", (i % 5) / 10)  # many ties
        client.log_metric(run_id, "loss", 1 / (i + 1))
        if i % 4:
            client.log_param(run_id, "depth", str(i % 6))
        if i % 3:
            client.set_tag(run_id, "team", ("a", "b")[i % 2])
        if i == 13:
            client.delete_run(run_id)  # MLflow's search shows active runs only
    return experiment_id


@pytest.mark.parametrize("order", ORDERINGS)
def test_pages_match_mlflow_order(module_ws, experiment, order):
    client = client_of(module_ws)
    expected = [r.info.run_id for r in client.search_runs([experiment], order_by=[order],
                                                         max_results=1000)]
    assert len(expected) == 60
    assert sorted_run_ids(client, [experiment], "", [order], 7, None) is not None  # fast path
    seen, token, pages = [], None, 0
    while True:
        page = search_runs("ordering", order_by=order, page_size=7, page_token=token,
                           workspace=module_ws)
        seen += [r.id for r in page.runs]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == expected
    assert pages == 9


def test_tokens_are_mlflows_and_other_queries_go_to_mlflow(module_ws, experiment):
    client = client_of(module_ws)
    first = search_runs("ordering", order_by="metrics.acc DESC", page_size=10,
                        workspace=module_ws)
    # MLflow continues from our token (both are offsets): the second page is the same
    mlflow_page = client.search_runs([experiment], order_by=["metrics.acc DESC"],
                                     max_results=10, page_token=first.next_page_token)
    ours = search_runs("ordering", order_by="metrics.acc DESC", page_size=10,
                       page_token=first.next_page_token, workspace=module_ws)
    assert [r.id for r in ours.runs] == [r.info.run_id for r in mlflow_page]
    # a filter, two orderings, or an attribute: MLflow's own search answers
    for args in (("metrics.acc > 0.1", ["metrics.acc DESC"]),
                 ("", ["metrics.acc DESC", "params.depth ASC"]),
                 ("", ["attributes.start_time DESC"])):
        assert sorted_run_ids(client, [experiment], args[0], args[1], 10, None) is None
    filtered = search_runs("ordering", filter="metrics.acc > 0.1", order_by="metrics.acc DESC",
                           page_size=100, workspace=module_ws)
    assert filtered.runs and all(r.metrics["acc"] > 0.1 for r in filtered.runs)
