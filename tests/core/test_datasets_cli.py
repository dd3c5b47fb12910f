"""`jupyter mlops datasets …` on a real workspace with real CSV files, in-process.

The commands go through `jupyter_mlops.cli.main`, the `jupyter mlops` entry
point, so its error mapping (MLOpsError → exit 1) is part of what is checked.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from jupyter_mlops.core import datasets as ds
from jupyter_mlops.core.datasets.objects import store_for
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.cli import main
from jupyter_mlops.datasets_cli import EXIT_VALIDATION_FAILED

OLD_CSV = "id,age,country\n1,30,DE\n2,41,FR\n3,,DE\n"
NEW_CSV = "id,age,email\n1,30,a@x.org\n2,-4,b@x.org\n3,50,c@x.org\n4,20,d@x.org\n"


def cli(*argv: str) -> int:
    """`jupyter mlops datasets …` through the real entry point (its error mapping included)."""
    return main(list(argv))


@pytest.fixture
def root(ws: Workspace) -> Path:
    (ws.root / "data").mkdir(parents=True)
    (ws.root / "data" / "customers.csv").write_text(OLD_CSV)
    (ws.root / "data" / "customers_v2.csv").write_text(NEW_CSV)
    return ws.root


def two_versions(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """`customers`: the old CSV tagged `base`, then the new one (latest); their hashes."""
    versions = []
    for csv, tags in (("customers.csv", ["--tag", "base"]), ("customers_v2.csv", [])):
        assert cli("datasets", "snapshot", str(root / "data" / csv), "--name", "customers",
                   *tags, "-w", str(root), "--json") == 0
        versions.append(json.loads(capsys.readouterr().out)["version"])
    return versions[0], versions[1]


def test_snapshot_is_new_then_unchanged_with_the_same_version(root, capsys, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(root)  # a relative path is the shell's, as with `dvc add`
    assert cli("datasets", "snapshot", "data/customers.csv", "--name", "customers",
               "-t", "base", "--description", "first export", "-w", str(root)) == 0
    first = capsys.readouterr().out
    assert first.startswith("customers@") and " new: file, " in first and "[base]" in first
    assert " s\n" in first.splitlines()[0] + "\n"  # the time it took
    full = first.split("version ")[1].split()[0]
    assert len(full) == 32

    assert cli("datasets", "snapshot", "data/customers.csv", "--name", "customers",
               "--profile", "-w", str(root)) == 0
    again = capsys.readouterr().out
    assert f"customers@{full[:12]} unchanged" in again and "3 rows" in again
    assert "profile stored" in again

    assert cli("datasets", "snapshot", "data/customers.csv", "--name", "customers",
               "--verify", "-w", str(root), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == full and data["new"] is False and data["seconds"] >= 0
    assert data["tags"] == ["base"] and data["rows"] == 3

    outside = tmp_path / "elsewhere" / "export.csv"  # the user's own shell: fine
    outside.parent.mkdir()
    outside.write_text(NEW_CSV)
    assert cli("datasets", "snapshot", str(outside), "--name", "export", "-w", str(root)) == 0
    assert "export@" in capsys.readouterr().out

    assert cli("datasets", "snapshot", "data/nope.csv", "--name", "x", "-w", str(root)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: There is no file or folder at ") and "nope.csv" in err
    assert "Traceback" not in err


def test_list_versions_and_show(root, capsys):
    old, new = two_versions(root, capsys)
    assert cli("datasets", "list", "-w", str(root)) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("customers"))
    assert new[:12] in line and "base" in line and " 2 " in line

    assert cli("datasets", "versions", "customers", "-w", str(root)) == 0
    out = capsys.readouterr().out
    assert out.index(new[:12]) < out.index(old[:12])  # newest first
    assert "file" in out and "B" in out
    assert cli("datasets", "versions", "customers", "--limit", "1", "-w", str(root)) == 0
    out = capsys.readouterr().out
    assert new[:12] in out and old[:12] not in out

    # a CSV file is profiled on first look: rows, nulls, distinct, ranges, top categories
    assert cli("datasets", "show", "customers@base", "-w", str(root)) == 0
    out = capsys.readouterr().out
    assert f"customers@{old[:12]}" in out and "3 rows" in out and "base" in out
    age = next(row for row in out.splitlines() if row.startswith("age "))
    assert "33.3%" in age and "30" in age and "41" in age and "35.5" in age
    country = next(row for row in out.splitlines() if row.startswith("country "))
    assert "DE (2)" in country and "FR (1)" in country

    assert cli("datasets", "show", f"customers@{new[:6]}", "-w", str(root), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == new and data["rows"] == 4
    assert [c["name"] for c in data["profile"]["columns"]] == ["id", "age", "email"]
    assert cli("datasets", "list", "-w", str(root), "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "customers" and listed[0]["versions"] == 2
    assert listed[0]["tags"] == {"base": old}


def test_diff_shows_the_added_and_removed_columns(root, capsys):
    old, new = two_versions(root, capsys)
    assert cli("datasets", "diff", "customers", "base", "latest", "-w", str(root)) == 0
    out = capsys.readouterr().out
    assert f"{old[:12]} → {new[:12]}" in out
    assert "added    email" in out and "removed  country" in out
    assert "3 → 4" in out  # rows
    age = next(row for row in out.splitlines() if row.startswith("age "))
    assert "33.3% → 0.0%" in age  # the null share went away
    assert cli("datasets", "diff", "customers", old[:8], new[:8], "-w", str(root),
               "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["added_columns"]] == ["email"]
    assert [c["name"] for c in data["removed_columns"]] == ["country"]
    assert data["rows"]["delta"] == 1 and data["profiles_compared"] is True


def test_validate_exits_6_on_failures_and_0_when_met(root, ws, capsys):
    two_versions(root, capsys)
    assert cli("datasets", "validate", "customers", "-w", str(root)) == 1
    assert "has no expectations yet" in capsys.readouterr().err

    ds.set_expectations("customers", {"columns": {"age": {"type": "integer", "min": 0},
                                                  "id": {"unique": True}}}, ws)
    assert EXIT_VALIDATION_FAILED == 6
    assert cli("datasets", "validate", "customers", "-w", str(root)) == EXIT_VALIDATION_FAILED
    out = capsys.readouterr().out
    assert "1 expectation(s) failed on 4 rows" in out
    failed = next(row for row in out.splitlines() if row.startswith("age "))
    assert "min" in failed and " 1 " in failed and "-4" in failed and "below 0" in failed
    assert cli("datasets", "validate", "customers@latest", "-w", str(root),
               "--json") == EXIT_VALIDATION_FAILED
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False and data["failures"][0]["examples"] == [-4]

    # the old version has an age missing but none below 0: it passes the same expectations
    assert cli("datasets", "validate", "customers@base", "-w", str(root)) == 0
    assert "all expectations met (3 rows" in capsys.readouterr().out

    spec = root / "strict.json"
    spec.write_text(json.dumps({"columns": {"age": {"nullable": False}}}))
    assert cli("datasets", "validate", "customers@base", "-e", str(spec),
               "-w", str(root)) == EXIT_VALIDATION_FAILED
    assert "row 2" in capsys.readouterr().out  # the row whose age is missing


def test_verify_tells_intact_from_corrupt(root, ws, capsys):
    old, _new = two_versions(root, capsys)
    assert cli("datasets", "verify", "customers@base", "-w", str(root)) == 0
    assert f"customers@{old[:12]}: intact" in capsys.readouterr().out
    assert cli("datasets", "verify", "customers@base", "--audit", "-w", str(root),
               "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and len(report["sha256"]) == 64

    obj = store_for(ws).local_path(old)
    obj.chmod(0o644)
    obj.write_text(OLD_CSV.replace("41", "14"))  # same size, other bytes
    assert cli("datasets", "verify", "customers@base", "-w", str(root)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: customers@{old[:12]} is corrupt: content hashes to ")
    assert cli("datasets", "verify", "customers", "-w", str(root)) == 0  # the other is fine


def test_gc_lists_then_removes_an_unreferenced_object(root, ws, capsys):
    old, new = two_versions(root, capsys)
    ds.delete_version("customers", "base", ws)
    store = store_for(ws)
    past = time.time() - 3600  # older than the grace period: no snapshot can be writing it
    os.utime(store.local_path(old), (past, past))

    assert cli("datasets", "gc", "--dry-run", "-w", str(root)) == 0
    out = capsys.readouterr().out
    assert out.startswith("gc would remove 1 object(s)") and old[:12] in out
    assert new[:12] not in out and store.exists(old)
    assert cli("datasets", "gc", "--dry-run", "-w", str(root), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [o["key"] for o in data["objects"]] == [old] and data["dry_run"] is True

    assert cli("datasets", "gc", "-w", str(root)) == 0
    assert capsys.readouterr().out.startswith("gc removed 1 object(s)")
    assert not store.exists(old) and store.exists(new)
    assert cli("datasets", "verify", "customers", "-w", str(root)) == 0
    capsys.readouterr()
    assert cli("datasets", "gc", "--dry-run", "-w", str(root)) == 0
    assert capsys.readouterr().out.startswith("gc would remove 0 object(s)")


def test_unknown_names_and_versions_say_what_exists(root, capsys):
    old, new = two_versions(root, capsys)
    assert cli("datasets", "show", "sales", "-w", str(root)) == 1
    err = capsys.readouterr().err
    assert err == "error: No dataset named 'sales'. Datasets: customers.\n"
    assert cli("datasets", "versions", "sales", "-w", str(root)) == 1
    assert "Datasets: customers" in capsys.readouterr().err
    assert cli("datasets", "show", "customers@prod", "-w", str(root)) == 1
    err = capsys.readouterr().err
    assert "has no version 'prod'" in err and old[:12] in err and "(base)" in err
    assert cli("datasets", "diff", "customers", "base", "beefbeef", "-w", str(root)) == 1
    assert new[:12] in capsys.readouterr().err
    assert cli("datasets", "verify", "a/b", "-w", str(root)) == 1
    assert "looks like a path" in capsys.readouterr().err
    assert cli("datasets", "show", "@base", "-w", str(root)) == 1
    assert "not a dataset reference" in capsys.readouterr().err
