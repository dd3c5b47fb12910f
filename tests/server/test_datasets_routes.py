"""The datasets routes through the real Jupyter server (pytest-jupyter's jp_fetch).

Files are written into the server's root (the workspace) and snapshotted over
REST, as the panel and other HTTP clients do; lineage is checked with a real
MLflow run made in-process on the same workspace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlops_rest import call

pytestmark = pytest.mark.usefixtures("jp_serverapp")

V1 = "id,amount,country\n1,10.5,DE\n2,20.0,FR\n3,,DE\n4,40.0,FR\n"
V2 = "id,amount,region\n1,11.5,north\n2,25.0,south\n3,30.0,north\n4,45.0,south\n5,-5.0,east\n"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def snapshot(jp_fetch, path: str, name: str = "sales", **extra) -> tuple[int, dict]:
    return await call(jp_fetch, "datasets", method="POST", body={"path": path, "name": name,
                                                                  **extra})


async def test_snapshot_versions_profile_and_diff(jp_fetch, jp_root_dir: Path) -> None:
    write(jp_root_dir, "data/sales.csv", V1)
    code, first = await snapshot(jp_fetch, "data/sales.csv", tags=["baseline"])
    assert code == 201, first
    assert first["new"] is True and first["kind"] == "file" and first["tags"] == ["baseline"]
    assert first["source"] == "data/sales.csv"
    # a CSV is profiled on snapshot, and its schema is read off the profile
    assert [c["name"] for c in first["schema"]] == ["id", "amount", "country"]
    amount = next(c for c in first["profile"]["columns"] if c["name"] == "amount")
    assert amount["kind"] == "numeric" and amount["missing"] == 1
    assert sum(amount["histogram"]["counts"]) == 3 and "sketch" not in amount

    code, again = await snapshot(jp_fetch, "data/sales.csv")
    assert code == 201 and again["new"] is False and again["version"] == first["version"]

    write(jp_root_dir, "data/sales.csv", V2)
    code, second = await snapshot(jp_fetch, "data/sales.csv", description="with regions")
    assert code == 201 and second["new"] is True and second["version"] != first["version"]

    code, listing = await call(jp_fetch, "datasets")
    assert code == 200
    [sales] = listing["datasets"]
    assert sales["versions"] == 2 and sales["latest"] == second["version"]
    assert sales["tags"] == {"baseline": first["version"]}

    code, versions = await call(jp_fetch, "datasets", "sales", "versions")
    assert code == 200
    assert [v["version"] for v in versions["versions"]] == [second["version"], first["version"]]
    assert versions["versions"][1]["tags"] == ["baseline"]
    assert all(v["runs"] == [] for v in versions["versions"])  # no MLflow store yet
    assert "profile" not in versions["versions"][0]

    code, detail = await call(jp_fetch, "datasets", "sales", "versions", "baseline")
    assert code == 200 and detail["version"] == first["version"] and detail["rows"] == 4
    assert detail["profile"]["rows"] == 4

    code, prof = await call(jp_fetch, "datasets", "sales", "versions", second["short"],
                            "profile")
    assert code == 200 and prof["version"] == second["version"]
    assert prof["profile"]["rows"] == 5

    code, delta = await call(jp_fetch, "datasets", "sales", "diff",
                             params={"a": "baseline", "b": "latest"})
    assert code == 200, delta
    assert delta["rows"] == {"a": 4, "b": 5, "delta": 1}
    assert [c["name"] for c in delta["added_columns"]] == ["region"]
    assert [c["name"] for c in delta["removed_columns"]] == ["country"]
    changed = {c["name"]: c for c in delta["columns"]}
    assert changed["amount"]["changed"] is True
    assert changed["amount"]["mean"]["delta"] == pytest.approx(21.3 - 23.5)
    assert "rows +1" in delta["summary"]
    # without `a`, the version before `b`
    code, implicit = await call(jp_fetch, "datasets", "sales", "diff")
    assert code == 200 and implicit["a"] == first["version"]


async def test_expectations_validation_delete_and_gc(jp_fetch, jp_root_dir: Path) -> None:
    write(jp_root_dir, "v.csv", V2)
    code, version = await snapshot(jp_fetch, "v.csv")
    assert code == 201
    code, empty = await call(jp_fetch, "datasets", "sales", "expectations",
                             params={"suggest": "true"})
    assert code == 200 and empty["expectations"] is None
    assert empty["suggested"]["columns"]["amount"]["type"] == "numeric"

    code, error = await call(jp_fetch, "datasets", "sales", "versions", "latest", "validate",
                             method="POST")
    assert code == 400 and "has no expectations yet" in error["message"]

    spec = {"columns": {"amount": {"min": 0}, "region": {"allowed": ["north", "south"]}}}
    code, stored = await call(jp_fetch, "datasets", "sales", "expectations", method="PUT",
                              body={"expectations": spec})
    assert code == 200 and stored["expectations"]["columns"]["amount"] == {"min": 0}
    code, report = await call(jp_fetch, "datasets", "sales", "versions", "latest", "validate",
                              method="POST")
    assert code == 200, report
    assert report["passed"] is False and report["version"] == version["version"]
    checks = {(f["column"], f["check"]): f for f in report["failures"]}
    assert checks[("amount", "min")]["examples"] == [-5.0]
    assert checks[("region", "allowed")]["examples"] == ["east"]
    # an ad hoc spec in the body overrides the stored one
    code, report = await call(jp_fetch, "datasets", "sales", "versions", "latest", "validate",
                              method="POST", body={"expectations": {"min_rows": 1}})
    assert code == 200 and report["passed"] is True

    code, error = await call(jp_fetch, "datasets", "sales", "expectations", method="PUT",
                             body={"expectations": {"columns": {"amount": {"minimum": 0}}}})
    assert code == 400 and "'minimum'" in error["message"]

    code, deleted = await call(jp_fetch, "datasets", "sales", "versions", version["short"],
                               method="DELETE")
    assert code == 200 and deleted["deleted"] == version["version"]
    code, dry = await call(jp_fetch, "datasets", "gc", method="POST",
                           body={"dry_run": True, "grace_seconds": 0})
    assert code == 200 and [o["key"] for o in dry["objects"]] == [version["version"]]
    code, done = await call(jp_fetch, "datasets", "gc", method="POST",
                            body={"dry_run": False, "grace_seconds": 0})
    assert code == 200 and done["dry_run"] is False and "removed 1 object" in done["summary"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"path": "v.csv", "name": "../x"}, 400, "looks like a path"),
        ({"path": "v.csv", "name": ""}, 400, "cannot be empty"),
        ({"path": "v.csv", "name": "x" * 200}, 400, "the limit is 128"),
        ({"path": "v.csv", "name": "ok", "tags": ["latest"]}, 400, "'latest' is reserved"),
        ({"path": "../outside.csv", "name": "ok"}, 400, "outside the workspace root"),
        ({"path": "/etc/hostname", "name": "ok"}, 400, "outside the workspace root"),
        ({"path": ".mlops/state.db", "name": "ok"}, 400, "workbench's own state"),
        ({"path": "missing.csv", "name": "ok"}, 400, "no file or folder at 'missing.csv'"),
        ({"path": "v.csv"}, 400, "name: Field required"),
        ({"path": "v.csv", "name": "ok", "colour": 1}, 400, "colour: Extra inputs"),
        ({"path": "v.csv", "name": "ok", "tags": "a"}, 400, "tags: Input should be a valid list"),
        ("{not json", 400, "not valid JSON"),
    ],
)
async def test_bad_snapshot_requests_are_400s(jp_fetch, jp_root_dir: Path, body, status,
                                              needle) -> None:
    write(jp_root_dir, "v.csv", V1)
    code, error = await call(jp_fetch, "datasets", method="POST", body=body)
    assert code == status, error
    assert needle in error["message"]
    assert "Traceback" not in json.dumps(error)


async def test_unknown_names_and_versions_are_404s_naming_what_exists(
        jp_fetch, jp_root_dir: Path) -> None:
    write(jp_root_dir, "v.csv", V1)
    _, version = await snapshot(jp_fetch, "v.csv", tags=["prod"])
    code, error = await call(jp_fetch, "datasets", "nope", "versions")
    assert code == 404 and "Datasets: sales" in error["message"]
    for parts in (("versions", "deadbeef"), ("versions", "staging", "profile")):
        code, error = await call(jp_fetch, "datasets", "sales", *parts)
        assert code == 404, error
        assert f"{version['short']} (prod)" in error["message"]
        assert error["details"]["versions"] == [version["version"]]
    code, error = await call(jp_fetch, "datasets", "sales", "diff", params={"a": "staging"})
    assert code == 404 and version["short"] in error["message"]
    code, error = await call(jp_fetch, "datasets", "sales", "versions", "staging",
                             method="DELETE")
    assert code == 404
    code, error = await call(jp_fetch, "datasets", "bad%20name", "versions")
    assert code == 400 and "not allowed" in error["message"]
    code, error = await call(jp_fetch, "datasets", "sales", "diff", params={"c": "x"})
    assert code == 400 and "c: Extra inputs" in error["message"]
    code, error = await call(jp_fetch, "datasets", "gc", method="POST",
                             body={"grace_seconds": -1})
    assert code == 400 and error["details"][0]["field"] == "grace_seconds"
    code, error = await call(jp_fetch, "datasets", "sales", "expectations", method="PUT",
                             body={})
    assert code == 400 and "expectations: Field required" in error["message"]


@pytest.mark.slow
async def test_versions_list_the_runs_that_used_them(jp_fetch, jp_root_dir: Path,
                                                     jp_serverapp) -> None:
    from jupyter_mlops.core.datasets import load_dataset
    from jupyter_mlops.core.tracking import start_run
    from jupyter_mlops.server.base import WORKSPACE_SETTING

    write(jp_root_dir, "v.csv", V1)
    _, used = await snapshot(jp_fetch, "v.csv")
    write(jp_root_dir, "v.csv", V2)
    _, unused = await snapshot(jp_fetch, "v.csv")
    ws = jp_serverapp.web_app.settings[WORKSPACE_SETTING]
    with start_run(experiment="training", name="fit-1", workspace=ws) as run:
        load_dataset("sales", used["version"], workspace=ws)
    code, versions = await call(jp_fetch, "datasets", "sales", "versions", request_timeout=120)
    assert code == 200, versions
    runs = {v["version"]: v["runs"] for v in versions["versions"]}
    assert [r["id"] for r in runs[used["version"]]] == [run.id]
    assert runs[used["version"]][0]["name"] == "fit-1"
    assert runs[unused["version"]] == []
    code, detail = await call(jp_fetch, "datasets", "sales", "versions", used["short"])
    assert [r["id"] for r in detail["runs"]] == [run.id]
    code, bare = await call(jp_fetch, "datasets", "sales", "versions", params={"runs": "false"})
    assert all(v["runs"] is None for v in bare["versions"])
