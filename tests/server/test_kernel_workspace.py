"""A kernel started by the server finds the server's workspace (a real ipykernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def workspace_elsewhere(jp_server_config, tmp_path: Path):
    """The workspace is not the kernel's cwd, so only the server's environment can tell it."""
    jp_server_config.MLOps.workspace_dir = str(tmp_path / "team-workspace")
    return tmp_path / "team-workspace"


async def execute(kernel_client, code: str) -> str:
    msg_id = kernel_client.execute(code)
    chunks: list[str] = []
    while True:
        msg = await kernel_client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            chunks.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(chunks)


async def test_notebook_kernel_writes_to_the_server_workspace(
    workspace_elsewhere: Path, jp_serverapp, jp_fetch, jp_root_dir: Path
) -> None:
    notebooks = jp_root_dir / "notebooks"
    notebooks.mkdir()
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(path="notebooks")
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        out = await execute(client, "\n".join([
            "import os, json, jupyter_mlops",
            "from jupyter_mlops.core.events import record_event",
            "ws = jupyter_mlops.workspace()",
            "record_event(ws, 'note', 'written from a kernel')",
            "print(json.dumps({'root': str(ws.root), 'cwd': os.getcwd()}))",
        ]))
        magic = await execute(client, "%load_ext jupyter_mlops\n%mlops info")
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["cwd"] == str(notebooks)
    assert seen["root"] == str(workspace_elsewhere.resolve())
    assert str(workspace_elsewhere.resolve()) in magic
    response = await jp_fetch("jupyter-mlops", "events")
    messages = [e["message"] for e in json.loads(response.body)["events"]]
    assert "written from a kernel" in messages
