"""`%mlops` in real kernels: the demo's welcome notebook executed by nbclient."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from jupyter_mlops.demo import create_demo

pytestmark = pytest.mark.slow


def outputs_text(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.extend(str(out.data.get(kind, ""))
                             for kind in ("text/plain", "text/html", "application/vnd.plotly.v1+json"))
        texts.append("".join(parts))
    return texts


def test_welcome_notebook_runs_and_shows_its_workspace(tmp_path: Path) -> None:
    result = create_demo(tmp_path / "demo")
    root = result.workspace.root
    nb = nbformat.read(root / "welcome.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}}).execute()
    info, health, api, datasets, version, report, figure, runs = outputs_text(nb)
    assert f"root             {root}" in info
    assert health.count("[ok  ]") == 2, health
    assert f"'root': '{root}'" in api
    assert "reference" in datasets and "current" in datasets
    assert "DatasetVersion" in version or "customers" in version
    assert "drifted" in report.lower()
    assert "support_calls" in figure


def test_unknown_subcommand_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%mlops frobnicate")])
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert "UsageError" in str(info.value)
    assert "Unknown %mlops command 'frobnicate'" in str(info.value)
