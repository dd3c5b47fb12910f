"""`%mlops` in real kernels (the welcome notebook of the demo runs in tests/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


pytestmark = pytest.mark.slow


def test_unknown_subcommand_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%mlops frobnicate")])
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert "UsageError" in str(info.value)
    assert "Unknown %mlops command 'frobnicate'" in str(info.value)
