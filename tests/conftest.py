"""Shared fixtures: a real Jupyter server with the extension (pytest-jupyter),
and isolation of the environment variables through which workspaces travel."""

from __future__ import annotations

import os

import pytest

from jupyter_mlops.core.workspace import (
    ENV_ARTIFACT_ROOT,
    ENV_DB_URL,
    ENV_MLFLOW_TRACKING_URI,
    ENV_TRACKING_URI,
    ENV_WORKSPACE,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]

_ENV_KEYS = (ENV_WORKSPACE, ENV_DB_URL, ENV_TRACKING_URI, ENV_ARTIFACT_ROOT,
             ENV_MLFLOW_TRACKING_URI)


@pytest.fixture(autouse=True)
def _isolated_workspace_env():
    """The server extension exports its workspace into os.environ for its kernels;
    without this, one test's workspace would leak into the next."""
    saved = {key: os.environ.pop(key, None) for key in _ENV_KEYS}
    yield
    for key in _ENV_KEYS:
        os.environ.pop(key, None)
        if saved[key] is not None:
            os.environ[key] = saved[key]


@pytest.fixture
def jp_server_config(jp_server_config):
    """Load our extension the way an installed package's config file does."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["jupyter_mlops"] = True
    return jp_server_config
