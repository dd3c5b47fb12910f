"""Every capability takes `workspace=` as a Workspace, a folder path, or nothing (the
current one): a path used to fail deep inside with "'str' object has no attribute"."""

from __future__ import annotations

import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core.errors import InvalidInput, NotFound
from jupyter_mlops.core.workspace import use_workspace


def test_a_folder_path_is_a_workspace(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JUPYTER_MLOPS_OBJECTS_URL", raising=False)
    root = tmp_path / "team"
    root.mkdir()
    ws = use_workspace(str(root))
    assert ws.root == root.resolve()
    assert use_workspace(root) is ws  # the same store, not one per call
    assert use_workspace(ws) is ws
    version = jupyter_mlops.snapshot(pd.DataFrame({"a": [1, 2]}), "tiny", workspace=str(root))
    assert jupyter_mlops.get_version("tiny", workspace=str(root)).version == version.version
    with pytest.raises(NotFound, match="ghost"):
        jupyter_mlops.get_deployment("ghost", workspace=str(root))
    assert jupyter_mlops.timeline(workspace=str(root), limit=5)
    with pytest.raises(InvalidInput, match="folder path"):
        use_workspace(42)  # type: ignore[arg-type]
