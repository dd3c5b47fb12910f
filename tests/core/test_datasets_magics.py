"""`%snapshot` and `%datasets` as functions (the owner wires them into the magics)."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

import jupyter_mlops
from jupyter_mlops import dataset_magics as M
from jupyter_mlops.core.datasets import objects


@pytest.fixture
def current(tmp_path, monkeypatch):
    monkeypatch.delenv(objects.ENV_OBJECTS_URL, raising=False)
    monkeypatch.setattr(jupyter_mlops, "_current", None)
    ws = jupyter_mlops.workspace(str(tmp_path / "root"))
    yield ws
    ws.close()


def test_snapshot_magic_variable_expression_and_path(current):
    df = pd.DataFrame({"a": [1, 2, 3]})
    ns = {"df": df}
    v = M.snapshot_magic("df sales --tag baseline -d 'first cut'", ns)
    assert v.name == "sales" and v.tags == ["baseline"] and v.description == "first cut"
    assert "<svg" in v._repr_html_()
    sub = M.snapshot_magic("df[df.a>1] sales", ns)
    assert sub.rows == 2
    path = current.root / "raw.csv"
    path.write_text("x\n1\n")
    assert M.snapshot_magic(f"{path} rawfile", ns).kind == "file"


@pytest.mark.parametrize("line, message", [
    ("missing sales", "neither a variable"),
    ("df", "required"),
    ("df ../x", "looks like a path"),
    ("n sales", "Cannot snapshot a builtins.int"),
])
def test_snapshot_magic_reports_usage_errors(current, line, message):
    with pytest.raises(UsageError, match=message):
        M.snapshot_magic(line, {"df": pd.DataFrame({"a": [1]}), "n": 3})


def test_datasets_magic(current):
    empty = M.datasets_magic("")
    assert "No datasets yet" in (empty.value if hasattr(empty, "value") else empty._repr_html_())
    M.snapshot_magic("df one --tag t", {"df": pd.DataFrame({"a": [1]})})
    M.snapshot_magic("df two", {"df": pd.DataFrame({"b": [2.0]})})
    widget = M.datasets_magic("")
    overview, picker, detail = widget.children
    assert "one" in overview.value and "two" in overview.value
    assert list(picker.options) == ["one", "two"] and "<td>t</td>" in detail.value
    picker.value = "two"
    assert "<td>t</td>" not in detail.value
    assert "table" in M.datasets_magic("one")._repr_html_()
    with pytest.raises(UsageError, match="No dataset named 'nope'"):
        M.datasets_magic("nope")


def test_register_dataset_magics(current):
    registered = {}

    class Shell:
        user_ns = {"df": pd.DataFrame({"a": [5]})}

        def register_magic_function(self, fn, kind, name):
            registered[name] = (kind, fn)

    M.register_dataset_magics(Shell())
    assert set(registered) == {"snapshot", "datasets"}
    assert registered["snapshot"][1]("df viaShell").rows == 1
