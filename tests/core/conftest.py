"""Workspaces for core tests: a fresh one per test, or one shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_mlops.core.workspace import Workspace


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Iterator[Workspace]:
    """A fresh workspace with the local object store (never a remote one from the env)."""
    monkeypatch.delenv("JUPYTER_MLOPS_OBJECTS_URL", raising=False)
    workspace = Workspace.resolve(tmp_path / "root")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def module_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace for a module whose tests only add to it (MLflow stores are slow to create)."""
    workspace = Workspace.resolve(tmp_path_factory.mktemp("module-ws"))
    yield workspace
    workspace.close()
