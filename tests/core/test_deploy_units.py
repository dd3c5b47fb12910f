"""Deployments without processes: strategies, traffic shares, canary verdicts, the
prediction log, and the router's ASGI app against in-process fake model servers."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from jupyter_mlops.core.deploy.metrics import VersionStats, judge_canary
from jupyter_mlops.core.deploy.predictions import (
    PredictionLog,
    compare_shadow,
    log_frame,
    parse_inputs,
    read_log,
)
from jupyter_mlops.core.deploy.router import Router, VersionRuntime
from jupyter_mlops.core.deploy.strategies import parse_strategy, routing_table
from jupyter_mlops.core.errors import InvalidInput, NotFound


# -- strategies ------------------------------------------------------------------------------
def test_parse_strategy_fills_defaults_and_refuses_unknown_parameters():
    spec = parse_strategy("canary", steps="5,25,50", bake=60)
    assert spec.kind == "canary" and spec.steps == (5.0, 25.0, 50.0, 100.0)
    assert parse_strategy({"kind": "blue-green"}).kind == "blue_green"
    assert parse_strategy("ab", weights=[90, 10]).weights == (90.0, 10.0)
    assert parse_strategy("ab", weights=20).weights == (80.0, 20.0)
    assert parse_strategy(spec.to_dict()) == spec
    with pytest.raises(InvalidInput, match="takes"):
        parse_strategy("shadow", steps=[5])
    with pytest.raises(InvalidInput, match="Unknown strategy"):
        parse_strategy("yolo")
    with pytest.raises(InvalidInput, match="rise"):
        parse_strategy("canary", steps=[50, 25])
    with pytest.raises(InvalidInput, match="adding up to 100"):
        parse_strategy("ab", weights=[50, 40])


def test_a_ten_percent_canary_gets_exactly_ten_percent_spread_evenly():
    table = routing_table(parse_strategy("canary"), "m/1", "m/2", canary_weight=10)
    picks = [table.picker.pick() for _ in range(10_000)]
    assert Counter(picks)["m/2"] == 1000
    # evenly spread: every window of 100 requests has 10 canary requests
    assert all(picks[i:i + 100].count("m/2") == 10 for i in range(0, 10_000, 100))


def test_ab_is_sticky_by_key_and_splits_keys_by_weight():
    table = routing_table(parse_strategy("ab", weights=[70, 30]), "m/1", "m/2")
    assert table.sticky_header == b"x-mlops-key" and table.fallback
    keys = [f"user-{i}".encode() for i in range(4000)]
    first = [table.picker.pick_sticky(k) for k in keys]
    assert first == [table.picker.pick_sticky(k) for k in keys]
    share = first.count("m/2") / len(first)
    assert 0.26 < share < 0.34


def test_tables_per_kind():
    assert routing_table(parse_strategy("shadow"), "a/1", "a/2").mirror == "a/2"
    green = routing_table(parse_strategy("blue_green"), "a/1", "a/2")
    assert dict(green.weights) == {"a/1": 100.0, "a/2": 0.0} and not green.fallback
    assert routing_table(parse_strategy("canary"), "a/1", None).kind == "single"


# -- metrics ---------------------------------------------------------------------------------
def test_window_figures_and_canary_verdicts():
    stable, canary = VersionStats(), VersionStats()
    now = time.monotonic()
    for i in range(100):
        stable.record(5.0 + i % 5, 200, now)
        canary.record(5.0 + i % 5, 500 if i % 4 == 0 else 200, now)
    canary.record(1.0, 400, now)  # a caller's mistake is not the version's error
    s, c = stable.window(60, now=now + 1), canary.window(60, now=now + 1)
    assert s.requests == 100 and s.error_rate == 0 and 6.9 < s.p50_ms < 7.1
    assert c.errors == 25 and c.client_errors == 1
    verdict = judge_canary(c, s, min_requests=20, max_error_rate_increase=0.05,
                           max_latency_increase=0.5, latency_slack_ms=5)
    assert verdict.breach and "error rate" in verdict.reason
    ok = judge_canary(s, s, min_requests=20, max_error_rate_increase=0.05,
                      max_latency_increase=0.5, latency_slack_ms=5)
    assert ok.judged and not ok.breach
    early = judge_canary(c, s, min_requests=1000, max_error_rate_increase=0.05,
                         max_latency_increase=0.5, latency_slack_ms=5)
    assert not early.judged and not early.breach
    slow = VersionStats()
    for _ in range(50):
        slow.record(60.0, 200, now)
    verdict = judge_canary(slow.window(60, now=now), s, min_requests=20,
                           max_error_rate_increase=0.05, max_latency_increase=0.5,
                           latency_slack_ms=5)
    assert verdict.breach and "p95" in verdict.reason


# -- prediction log --------------------------------------------------------------------------
def _entry(log: PredictionLog, ts: float, rid: str, version: str = "m/1", shadow: bool = False,
           prediction: object = 1, status: int = 200) -> None:
    body = json.dumps({"dataframe_split": {"columns": ["x", "y"], "data": [[1, 2.5], [3, 4.5]]}})
    answer = json.dumps({"predictions": [prediction, prediction]})
    log.append(ts, rid, version, "stable", status, 3.2, shadow, "application/json",
               body.encode(), answer.encode(), None)


def test_prediction_log_partitions_by_day_and_reads_windows(tmp_path: Path):
    log = PredictionLog(tmp_path / "dep")
    day1 = 1_700_000_000.0  # 2023-11-14
    for i in range(5):
        _entry(log, day1 + i, f"a{i}")
    for i in range(7):
        _entry(log, day1 + 86400 + i, f"b{i}", version="m/2")
    assert log.flush() == 12 and log.buffered == 0
    days = sorted(p.name for p in (tmp_path / "dep").iterdir())
    assert days == ["date=2023-11-14", "date=2023-11-15"]
    frame = read_log(tmp_path, "dep")
    assert len(frame) == 12 and frame["ts"].is_monotonic_increasing
    assert list(read_log(tmp_path, "dep", last=3)["request_id"]) == ["b4", "b5", "b6"]
    since = pd.Timestamp(day1 + 86400, unit="s", tz="UTC")
    assert len(read_log(tmp_path, "dep", since=since)) == 7
    assert len(read_log(tmp_path, "dep", version="m/1")) == 5
    _entry(log, day1 + 9, "a9")
    log.flush()
    assert log.compact() == 2  # the two parts of 2023-11-14, merged into one file
    assert len(list((tmp_path / "dep" / "date=2023-11-14").glob("*.parquet"))) == 1
    assert len(read_log(tmp_path, "dep")) == 13
    rows = log_frame(tmp_path, "dep", last=2)
    assert list(rows.columns[:3]) == ["x", "y", "prediction"] and len(rows) == 4
    assert read_log(tmp_path, "nothing").empty


def test_parse_inputs_reads_every_mlflow_format():
    split = parse_inputs(json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}),
                         "application/json")
    records = parse_inputs(json.dumps({"dataframe_records": [{"a": 1}, {"a": 2}]}), None)
    instances = parse_inputs(json.dumps({"instances": [{"a": 1}, {"a": 2}]}), None)
    inputs = parse_inputs(json.dumps({"inputs": {"a": [1, 2]}}), None)
    csv = parse_inputs("a\n1\n2\n", "text/csv")
    for frame in (split, records, instances, inputs, csv):
        assert list(frame["a"]) == [1, 2]
    assert parse_inputs("not json", None) is None


def test_shadow_comparison_pairs_answers_by_request(tmp_path: Path):
    log = PredictionLog(tmp_path / "dep")
    now = time.time()
    for i in range(20):
        _entry(log, now + i, f"r{i}", "m/1", prediction=i % 2 == 0)
        _entry(log, now + i + 0.001, f"r{i}", "m/2", shadow=True,
               prediction=(i % 2 == 0) if i < 15 else (i % 2 != 0))
    log.flush()
    result = compare_shadow(tmp_path, "dep")
    assert (result.champion, result.challenger, result.requests) == ("m/1", "m/2", 20)
    assert result.agreement_rate == pytest.approx(0.75)
    assert "75.0%" in result._repr_html_()
    with pytest.raises(NotFound):
        compare_shadow(tmp_path, "empty")


# -- the router against fake model servers -----------------------------------------------------
async def _fake_model(answers: dict[str, tuple[int, bytes]]) -> asyncio.AbstractServer:
    """A tiny HTTP/1.1 server: POST /invocations answers `answers['post']`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                status, body = answers["post"]
                writer.write(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (status, len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def _call(router: Router, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/invocations", "method": "POST",
             "headers": [(b"content-type", b"application/json"), *(headers or [])]}
    await router(scope, receive, send)
    head = dict(sent[0]["headers"])
    return sent[0]["status"], head, sent[1]["body"]


def test_router_passes_4xx_through_falls_back_and_answers_503(tmp_path: Path):
    async def scenario():
        good = await _fake_model({"post": (200, b'{"predictions": [1]}')})
        bad_input = {"post": (400, b'{"error_code": "BAD_REQUEST"}')}
        picky = await _fake_model(bad_input)
        port_good = good.sockets[0].getsockname()[1]
        port_picky = picky.sockets[0].getsockname()[1]
        log = PredictionLog(tmp_path / "dep")
        router = Router("dep", log=log)
        versions = {"m/1": VersionRuntime("m/1", "stable", "127.0.0.1", port_good),
                    "m/2": VersionRuntime("m/2", "candidate", "127.0.0.1", port_picky)}
        router.install(routing_table(parse_strategy("ab", weights=[50, 50]), "m/1", "m/2"),
                       versions)
        results = [await _call(router, b"{}") for _ in range(4)]
        assert sorted(h[b"x-mlops-version"] for _, h, _ in results) == [b"m/1", b"m/1",
                                                                        b"m/2", b"m/2"]
        assert {s for s, h, _ in results if h[b"x-mlops-version"] == b"m/2"} == {400}
        status, head, _ = await _call(router, b"{}", [(b"x-mlops-route", b"m/2")])
        assert status == 400 and head[b"x-mlops-version"] == b"m/2"

        # m/2 goes away: the A/B split falls back to m/1 and marks m/2 unhealthy
        picky.close()
        await picky.wait_closed()
        for runtime in versions.values():
            await runtime.upstream.close()
        results = [await _call(router, b"{}") for _ in range(4)]
        assert all(s == 200 and h[b"x-mlops-version"] == b"m/1" for s, h, _ in results)
        assert not versions["m/2"].healthy

        # a single-version table has nowhere else to go: 503 naming the version
        router.install(routing_table(parse_strategy("single"), "m/2", None), versions)
        status, head, body = await _call(router, b"{}")
        assert status == 503 and head[b"x-mlops-version"] == b"m/2"
        assert json.loads(body)["version"] == "m/2"
        good.close()
        return log

    log = asyncio.run(scenario())
    log.flush()
    frame = read_log(tmp_path, "dep")
    assert len(frame) == 10 and set(frame["status"]) == {200, 400, 503}
