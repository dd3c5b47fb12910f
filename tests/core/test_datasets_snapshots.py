"""Snapshots of tables, files and folders; addressing versions; names; hooks; stores."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, text

from jupyter_mlops.core import datasets as D
from jupyter_mlops.core.datasets import catalog, objects
from jupyter_mlops.core.errors import BackendUnavailable, InvalidInput, NotFound
from jupyter_mlops.core.events import list_events
from jupyter_mlops.core.workspace import Workspace


def frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n),
        "amount": rng.normal(100, 15, n),
        "region": rng.choice(["north", "south", "east"], n),
        "day": pd.date_range("2024-01-01", periods=n, freq="h"),
    })


def old_file(path: Path, data: bytes) -> Path:
    """A file whose mtime is well outside the stat cache's racy window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


# -- tables ----------------------------------------------------------------------------------
def test_table_snapshot_round_trip_and_dedup(ws):
    df = frame()
    v1 = D.snapshot(df, "sales", tags=["baseline"], description="first", workspace=ws)
    assert v1.new is True and v1.kind == "table" and v1.rows == 50
    assert len(v1.version) == 32 and v1.hash_algo == "xxh3_128"
    assert [c["name"] for c in v1.schema] == ["id", "amount", "region", "day"]
    assert v1.tags == ["baseline"] and v1.bytes == Path(v1.path).stat().st_size
    assert v1.profile["rows"] == 50
    again = D.snapshot(df.copy(), "sales", workspace=ws)
    assert again.version == v1.version and again.new is False
    assert len(list(ws.objects_dir.glob("??/*"))) == 1
    pd.testing.assert_frame_equal(D.load_dataset("sales", workspace=ws), df)
    pd.testing.assert_frame_equal(D.load_dataset("sales", "baseline", workspace=ws), df)
    pd.testing.assert_frame_equal(D.load_dataset("sales", v1.version[:8], workspace=ws), df)
    assert json.loads(json.dumps(v1.to_dict()))["profile"]["columns"][0]["name"] == "id"


def test_latest_follows_last_snapshot_and_tags_move(ws):
    a, b = frame(seed=1), frame(seed=2)
    va = D.snapshot(a, "s", tags="prod", workspace=ws)
    vb = D.snapshot(b, "s", tags=["prod"], workspace=ws)
    assert D.get_version("s", "prod", workspace=ws).version == vb.version
    assert D.get_version("s", va.version, workspace=ws).tags == []
    again = D.snapshot(a, "s", workspace=ws)
    assert again.version == va.version and again.new is False
    assert D.get_version("s", workspace=ws).version == va.version
    assert [v.version for v in D.list_versions("s", workspace=ws)] == [va.version, vb.version]
    summary = D.list_datasets(workspace=ws)[0]
    assert summary.versions == 2 and summary.latest == va.version
    assert summary.tags == {"prod": vb.version}


def test_profile_off_and_pyarrow_table(ws):
    import pyarrow as pa

    table = pa.table({"x": [1, 2, 3]})
    v = D.snapshot(table, "arrow", profile=False, workspace=ws)
    assert v.rows == 3 and D.get_version("arrow", workspace=ws).profile is None
    assert D.load_dataset("arrow", workspace=ws)["x"].tolist() == [1, 2, 3]


def test_bad_frames_are_invalid_input(ws):
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InvalidInput, match="duplicate column"):
        D.snapshot(dup, "d", workspace=ws)
    mixed = pd.DataFrame({"m": [1, "x", 2.5]})
    with pytest.raises(InvalidInput, match="cannot be stored as Parquet"):
        D.snapshot(mixed, "d", workspace=ws)


# -- addressing ------------------------------------------------------------------------------
def _fake_version(ws, name, version):
    values = {"version": version, "kind": "table", "bytes": 1, "rows": 1, "files": None,
              "source": None, "schema_json": [], "profile": None, "hash_algo": "xxh3_128",
              "actor": "t"}
    catalog.record_version(ws, name, values, [], None)


def test_prefix_resolution_ambiguous_and_missing(ws):
    _fake_version(ws, "p", "abcd" + "0" * 28)
    _fake_version(ws, "p", "abcd" + "1" * 28)
    _fake_version(ws, "p", "ef01" + "2" * 28)
    with pytest.raises(InvalidInput, match="ambiguous") as err:
        D.get_version("p", "abcd", workspace=ws)
    assert "abcd00000000" in err.value.message and "abcd11111111" in err.value.message
    assert D.get_version("p", "abcd1", workspace=ws).version.startswith("abcd1")
    assert D.get_version("p", "EF01", workspace=ws).version.startswith("ef01")
    with pytest.raises(NotFound) as missing:
        D.get_version("p", "9999", workspace=ws)
    assert "ef0122222222" in missing.value.message and "abcd00000000" in missing.value.message
    with pytest.raises(NotFound, match="at least 4"):
        D.get_version("p", "ab", workspace=ws)
    with pytest.raises(NotFound, match="No dataset named 'nope'"):
        D.load_dataset("nope", workspace=ws)


@pytest.mark.parametrize("name, message", [
    ("../x", "looks like a path"),
    ("a/b", "looks like a path"),
    ("", "cannot be empty"),
    ("   ", "cannot be empty"),
    ("x" * 200, "limit is 128"),
    ("bad name", "not allowed"),
    ("-flag", "not allowed"),
    (42, "must be a string"),
])
def test_names_are_validated(ws, name, message):
    with pytest.raises(InvalidInput, match=message):
        D.snapshot(frame(), name, workspace=ws)


@pytest.mark.parametrize("tags", [["latest"], ["a b"], [""], ["x" * 70]])
def test_tags_are_validated(ws, tags):
    with pytest.raises(InvalidInput):
        D.snapshot(frame(), "t", tags=tags, workspace=ws)


@pytest.mark.parametrize("data", [[1, 2], 42, {"a": 1}, pd.Series([1, 2]), b"bytes"])
def test_unsupported_objects_name_supported_kinds(ws, data):
    with pytest.raises(TypeError, match="Supported: a pandas DataFrame.*folder"):
        D.snapshot(data, "t", workspace=ws)


def test_missing_path_is_invalid_input(ws, tmp_path):
    with pytest.raises(InvalidInput, match="no file or folder"):
        D.snapshot(tmp_path / "absent.csv", "t", workspace=ws)


# -- files -----------------------------------------------------------------------------------
def test_file_snapshot_is_a_copy_and_uses_the_stat_cache(ws, tmp_path, monkeypatch):
    src = old_file(ws.root / "data" / "sales.csv", b"a,b\n1,2\n3,4\n")
    v1 = D.snapshot(src, "raw", workspace=ws)
    assert v1.kind == "file" and v1.bytes == src.stat().st_size and v1.source == "data/sales.csv"
    assert os.stat(v1.path).st_ino != src.stat().st_ino  # never a hardlink

    def boom(*_a, **_k):
        raise AssertionError("an unchanged file must not be read again")

    monkeypatch.setattr(objects, "copy_hashing", boom)
    monkeypatch.setattr(objects, "hash_file", boom)
    started = time.perf_counter()
    v2 = D.snapshot(str(src), "raw", workspace=ws)
    assert v2.version == v1.version and v2.new is False
    assert time.perf_counter() - started < 0.5
    monkeypatch.undo()

    # an in-place edit of the user's file changes neither the object nor the old version
    with open(src, "r+b") as handle:
        handle.write(b"X")
    path = D.load_dataset("raw", v1.version, workspace=ws)
    assert Path(path).name == "sales.csv" and Path(path).read_bytes() == b"a,b\n1,2\n3,4\n"
    v3 = D.snapshot(src, "raw", workspace=ws)
    assert v3.version != v1.version and v3.new is True
    assert D.verify("raw", v1.version, workspace=ws)["ok"]


def test_same_stat_different_bytes_needs_verify(ws):
    src = old_file(ws.root / "f.bin", b"0123456789")
    v1 = D.snapshot(src, "bin", workspace=ws)
    st = src.stat()
    with open(src, "r+b") as handle:  # same size, same inode; mtime restored below
        handle.write(b"9")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert D.snapshot(src, "bin", workspace=ws).version == v1.version  # the cache's blind spot
    fresh = D.snapshot(src, "bin", verify=True, workspace=ws)
    assert fresh.version != v1.version and fresh.new is True


def test_racily_clean_files_are_rehashed(ws):
    src = ws.root / "young.txt"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(b"v1")
    D.snapshot(src, "young", workspace=ws)
    st = src.stat()
    assert catalog.cached_hash(ws, str(src), st) is None  # mtime too close to the hash time


def test_parquet_file_metadata_and_profile_on_demand(ws):
    path = ws.root / "t.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame(20).to_parquet(path)
    v = D.snapshot(path, "pq", workspace=ws)
    assert v.rows == 20 and [c["name"] for c in v.schema][:2] == ["id", "amount"]
    assert v.profile is None
    prof = D.profile_version("pq", workspace=ws)
    assert prof["rows"] == 20
    assert D.get_version("pq", workspace=ws).profile["rows"] == 20
    csv = old_file(ws.root / "c.csv", b"x,y\n1,a\n2,b\n")
    profiled = D.snapshot(csv, "csv", profile=True, workspace=ws)
    assert profiled.profile["columns"][0]["max"] == 2 and profiled.rows == 2
    assert profiled.new is True
    # profile=True on what is no table: refused before anything is stored
    blob = old_file(ws.root / "c.bin", b"\x00\x01")
    with pytest.raises(InvalidInput, match="profile=True needs a table"):
        D.snapshot(blob, "blob", profile=True, workspace=ws)
    with pytest.raises(NotFound):
        D.get_version("blob", workspace=ws)
    # a .csv that does not parse: stored (nothing lost), with a warning saying why
    bad = old_file(ws.root / "bad.csv", b"a,b\n1,2\n1,2,3,4\n")
    with pytest.warns(UserWarning, match="stored without a profile"):
        kept = D.snapshot(bad, "bad", profile=True, workspace=ws)
    assert kept.profile is None and D.get_version("bad", workspace=ws).version == kept.version


def test_csv_versions_diff_through_their_profiles(ws):
    csv = old_file(ws.root / "m.csv", b"x,y\n1,a\n2,b\n")
    D.snapshot(csv, "m", profile=True, workspace=ws)
    old_file(csv, b"x,y,z\n1,a,0.5\n2,b,1.5\n3,c,2.5\n")
    D.snapshot(csv, "m", profile=True, workspace=ws)
    d = D.diff("m", workspace=ws)
    assert d.rows == {"a": 2, "b": 3, "delta": 1} and d.added_columns == [{"name": "z", "dtype": "float64"}]
    assert {c["name"] for c in d.columns} == {"x", "y"}


def test_csv_versions_snapshotted_without_profiles_are_profiled_by_their_first_diff(ws):
    csv = old_file(ws.root / "n.csv", b"x,y\n1,a\n2,b\n")
    first = D.snapshot(csv, "n", workspace=ws)  # a file snapshot skips the profile: fast
    old_file(csv, b"x,z\n1,0.5\n2,1.5\n3,2.5\n")
    second = D.snapshot(csv, "n", workspace=ws)
    assert first.profile is None and second.profile is None
    d = D.diff("n", workspace=ws)
    assert d.profiles_compared and d.rows == {"a": 2, "b": 3, "delta": 1}
    assert d.added_columns == [{"name": "z", "dtype": "float64"}]
    assert [c["name"] for c in d.removed_columns] == ["y"]
    assert D.get_version("n", first.version, workspace=ws).profile is not None  # stored
    # a file that is not a table is compared by its bytes, without an error or a profile
    blob = old_file(ws.root / "b.bin", b"\x00\x01 not a table\x00")
    D.snapshot(blob, "blob", workspace=ws)
    old_file(blob, b"\x00\x02")
    D.snapshot(blob, "blob", workspace=ws)
    d = D.diff("blob", workspace=ws)
    assert not d.profiles_compared and d.bytes == {"a": 15, "b": 2, "delta": -13}


def test_verify_and_audit_digest(ws):
    import hashlib

    v = D.snapshot(frame(), "audit", workspace=ws)
    report = D.verify("audit", workspace=ws, audit=True)
    assert report["ok"] and report["sha256"] == hashlib.sha256(Path(v.path).read_bytes()).hexdigest()
    assert D.get_version("audit", workspace=ws).sha256 == report["sha256"]
    os.chmod(v.path, 0o644)
    Path(v.path).write_bytes(b"corrupt")
    assert not D.verify("audit", workspace=ws)["ok"]


# -- folders ---------------------------------------------------------------------------------
def test_folder_snapshot_manifest_load_and_diff(ws, monkeypatch):
    folder = ws.root / "images"
    old_file(folder / "a.txt", b"alpha")
    old_file(folder / "sub" / "b.txt", b"beta")
    old_file(folder / "c.txt", b"gamma")
    v1 = D.snapshot(folder, "imgs", workspace=ws)
    assert v1.kind == "folder" and v1.files == 3 and v1.bytes == 14
    old_file(folder / "a.txt", b"ALPHA!")
    (folder / "c.txt").unlink()
    old_file(folder / "d.txt", b"delta")
    v2 = D.snapshot(folder, "imgs", workspace=ws)
    assert v2.version != v1.version
    d = D.diff("imgs", v1.version, v2.version, workspace=ws)
    assert (d.added_files, d.removed_files, d.changed_files) == (["d.txt"], ["c.txt"], ["a.txt"])
    out = Path(D.load_dataset("imgs", v1.version, workspace=ws))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["a.txt", "c.txt", "sub/b.txt"]
    assert (out / "a.txt").read_bytes() == b"alpha"

    def boom(*_a, **_k):
        raise AssertionError("unchanged files must not be read again")

    monkeypatch.setattr(objects.LocalObjectStore, "put_file", boom)
    assert D.snapshot(folder, "imgs", workspace=ws).version == v2.version


def test_empty_folder_is_invalid(ws):
    (ws.root / "empty").mkdir(parents=True)
    with pytest.raises(InvalidInput, match="no files"):
        D.snapshot(ws.root / "empty", "e", workspace=ws)


# -- hooks, events, rendering ----------------------------------------------------------------
def test_hooks_and_events(ws):
    calls = []

    def failing(version, action):
        raise RuntimeError("tracking is down")

    hooks = [lambda v, a: calls.append((v.name, a)), failing]
    D.on_dataset_used.extend(hooks)  # the very list tracking registers into
    try:
        D.snapshot(frame(), "hooked", workspace=ws)
        D.load_dataset("hooked", workspace=ws)
    finally:
        for hook in hooks:
            D.on_dataset_used.remove(hook)
    assert calls == [("hooked", "snapshot"), ("hooked", "load")]
    events = list_events(ws, kind="datasets")
    assert events[0].kind == "datasets.snapshot" and events[0].subject == "hooked"
    assert events[0].data["new"] is True


def test_html_repr_has_sparklines_and_escapes(ws):
    df = frame()
    df["<script>"] = "x"
    v = D.snapshot(df, "html", workspace=ws)
    markup = v._repr_html_()
    assert "<svg" in markup and "<rect" in markup and "<script>" not in markup
    assert "&lt;script&gt;" in markup and "<table" in markup


# -- stores and schema -----------------------------------------------------------------------
class FakeFs:
    """The handful of fsspec calls FsspecObjectStore makes, over a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _p(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def exists(self, path):
        return self._p(path).exists()

    def makedirs(self, path, exist_ok=False):
        self._p(path).mkdir(parents=True, exist_ok=exist_ok)

    def put_file(self, local, remote):
        self._p(remote).write_bytes(Path(local).read_bytes())

    def get_file(self, remote, local):
        Path(local).write_bytes(self._p(remote).read_bytes())

    def find(self, path, detail=False):
        base = self._p(path)
        return {"/" + p.relative_to(self.root).as_posix(): {"size": p.stat().st_size,
                                                            "mtime": p.stat().st_mtime}
                for p in base.rglob("*") if p.is_file()}

    def rm(self, path):
        self._p(path).unlink()


def test_remote_store_round_trip(ws, tmp_path):
    fs = FakeFs(tmp_path / "bucket")
    store = objects.FsspecObjectStore("memory://bucket/objs", ws.mlops_dir / "cache", fs=fs)
    ws.__dict__["_dataset_object_store"] = store
    v = D.snapshot(frame(), "remote", workspace=ws)
    assert v.path.startswith("memory://bucket/objs/")
    assert (tmp_path / "bucket" / "bucket" / "objs" / v.version[:2] / v.version[2:]).is_file()
    for cached in (ws.mlops_dir / "cache").rglob("*"):
        if cached.is_file():
            os.chmod(cached, 0o644)
            cached.unlink()
    pd.testing.assert_frame_equal(D.load_dataset("remote", workspace=ws), frame())
    assert D.verify("remote", workspace=ws)["ok"]
    D.delete_version("remote", v.version, workspace=ws)
    assert [o["key"] for o in D.gc(dry_run=False, grace_seconds=0, workspace=ws).objects] == \
        [v.version]
    assert not fs.exists(f"bucket/objs/{v.version[:2]}/{v.version[2:]}")


def test_store_selection(ws, monkeypatch, tmp_path):
    monkeypatch.setenv(objects.ENV_OBJECTS_URL, str(tmp_path / "elsewhere"))
    store = objects.store_for(ws)
    assert isinstance(store, objects.LocalObjectStore) and store.root == tmp_path / "elsewhere"
    try:
        import fsspec  # noqa: F401
    except ImportError:
        other = Workspace.resolve(tmp_path / "other")
        monkeypatch.setenv(objects.ENV_OBJECTS_URL, "s3://bucket/prefix")
        with pytest.raises(BackendUnavailable, match="fsspec"):
            objects.store_for(other)


def test_migration_0003_upgrades_from_0002_and_downgrades(tmp_path):
    from alembic import command

    from jupyter_mlops.core.db.engine import create_state_engine
    from jupyter_mlops.core.db.migrate import alembic_config, upgrade

    engine = create_state_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    assert "datasets" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO events (ts, kind, message) "
                          "VALUES ('2026-01-01', 'note', 'kept')"))
    upgrade(engine, "0003")
    tables = set(inspect(engine).get_table_names())
    assert {"datasets", "dataset_versions", "dataset_tags", "dataset_file_cache"} <= tables
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    tables = set(inspect(engine).get_table_names())
    assert "datasets" not in tables and "events" in tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT message FROM events")).scalar() == "kept"
    engine.dispose()
