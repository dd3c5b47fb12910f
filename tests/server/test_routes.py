"""Routes through the real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops import __version__

pytestmark = pytest.mark.usefixtures("jp_serverapp")


async def fetch_json(jp_fetch, *parts, **kwargs):
    response = await jp_fetch("jupyter-mlops", *parts, **kwargs)
    return response.code, json.loads(response.body)


async def error_of(jp_fetch, *parts, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", *parts, **kwargs)
    body = info.value.response.body
    return info.value.code, json.loads(body)


async def test_config_describes_the_workspace(jp_fetch, jp_root_dir: Path) -> None:
    code, body = await fetch_json(jp_fetch, "config")
    assert code == 200
    assert body["version"] == __version__
    assert body["workspace"]["root"] == str(jp_root_dir.resolve())
    assert body["workspace"]["tracking_uri"].endswith("/.mlops/mlflow.db")
    ids = [c["id"] for c in body["capabilities"]]
    assert ids[:3] == ["experiments", "datasets", "pipelines"]
    assert all(isinstance(c["available"], bool) for c in body["capabilities"])


async def test_health_reports_both_stores(jp_fetch, jp_root_dir: Path) -> None:
    code, body = await fetch_json(jp_fetch, "health", request_timeout=120)
    assert code == 200, body
    assert body["ok"] is True
    assert set(body["components"]) == {"state_db", "mlflow"}
    assert body["components"]["state_db"]["detail"].startswith("sqlite, schema")
    assert (jp_root_dir / ".mlops" / "mlflow.db").is_file()


async def test_notes_round_trip(jp_fetch) -> None:
    code, created = await fetch_json(
        jp_fetch, "events", method="POST",
        body=json.dumps({"message": "Started the A/B test", "subject": "churn-api"}))
    assert code == 201
    assert created["kind"] == "note" and created["subject"] == "churn-api"
    code, listing = await fetch_json(jp_fetch, "events", params={"kind": "note"})
    assert [e["message"] for e in listing["events"]] == ["Started the A/B test"]
    assert listing["next_before_id"] is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("", "body is empty"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"subject": "x"}), "message: Field required"),
        (json.dumps({"message": "x", "colour": "red"}), "colour: Extra inputs"),
        (json.dumps({"message": "x", "kind": "registry.alias"}), "kind: Input should be 'note'"),
        (json.dumps({"message": ""}), "message: String should have at least 1 character"),
    ],
)
async def test_malformed_bodies_get_a_400_naming_the_problem(jp_fetch, body, needle) -> None:
    code, error = await error_of(jp_fetch, "events", method="POST", body=body,
                                 allow_nonstandard_methods=True)
    assert code == 400
    assert needle in error["message"]
    assert error["code"] == "invalid_input"
    assert "traceback" not in error


async def test_bad_query_gets_a_400_with_the_field(jp_fetch) -> None:
    code, error = await error_of(jp_fetch, "events", params={"limit": "0"})
    assert code == 400
    assert error["details"][0]["field"] == "limit"
    code, error = await error_of(jp_fetch, "events", params={"limit": "many"})
    assert code == 400 and "limit" in error["message"]
    code, error = await error_of(jp_fetch, "events", params={"colour": "red"})
    assert code == 400 and "colour" in error["message"]


async def test_unknown_route_is_a_json_404(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", "no-such-thing")
    assert info.value.code == 404


@pytest.fixture
def broken_db_config(jp_server_config):
    jp_server_config.MLOps.db_url = "sqlite:////dev/null/impossible/state.db"
    return jp_server_config


@pytest.mark.usefixtures("broken_db_config")
async def test_unreachable_state_db_is_a_503_with_a_message(jp_fetch) -> None:
    code, error = await error_of(jp_fetch, "events")
    assert code == 503
    assert error["code"] == "backend_unavailable"
    assert "state database" in error["message"]
    code, health = await error_of(jp_fetch, "health", request_timeout=120)
    assert code == 503
    assert health["ok"] is False and health["components"]["state_db"]["ok"] is False
