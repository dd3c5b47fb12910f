"""`jupyter mlops …` as a user types it: real subprocesses through the jupyter launcher."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops import __version__

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: int = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                **(env or {})}
    result = subprocess.run([str(BIN / "jupyter"), *args], cwd=cwd, env=full_env, text=True,
                            capture_output=True, timeout=timeout)
    result.stdout = ANSI.sub("", result.stdout)
    result.stderr = ANSI.sub("", result.stderr)
    return result


def test_version() -> None:
    result = run("mlops", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"jupyter-mlops {__version__}"


def test_info_json_names_the_workspace(tmp_path: Path) -> None:
    result = run("mlops", "info", "--json", "--workspace", str(tmp_path))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["workspace"]["root"] == str(tmp_path.resolve())
    assert info["workspace"]["state_db"] == f"sqlite:///{tmp_path.resolve()}/.mlops/state.db"


def test_info_finds_the_workspace_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".mlops").mkdir()
    sub = tmp_path / "notebooks"
    sub.mkdir()
    result = run("mlops", "info", cwd=sub)
    assert result.returncode == 0
    assert f"root             {tmp_path.resolve()}" in result.stdout


def test_health_exits_3_when_a_store_is_down(tmp_path: Path) -> None:
    result = run("mlops", "health", "--workspace", str(tmp_path),
                 env={"JUPYTER_MLOPS_DB_URL": "sqlite:////dev/null/x/state.db",
                      "JUPYTER_MLOPS_TRACKING_URI": "sqlite:////dev/null/x/mlflow.db"})
    assert result.returncode == 3
    assert result.stdout.count("[FAIL]") == 2
    assert "Traceback" not in result.stdout + result.stderr


def test_user_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    result = run("mlops", "info", "--workspace", str(file))
    assert result.returncode == 1
    assert result.stderr.startswith("error: Workspace root")
    assert "Traceback" not in result.stderr


def test_both_halves_are_installed_and_enabled() -> None:
    server = run("server", "extension", "list")
    text = server.stdout + server.stderr
    assert re.search(r"jupyter_mlops\s+enabled", text), text
    assert re.search(rf"jupyter_mlops {re.escape(__version__)} OK", text), text
    lab = run("labextension", "list")
    text = lab.stdout + lab.stderr
    assert re.search(rf"jupyter-mlops v{re.escape(__version__)} enabled\s+OK", text), text
