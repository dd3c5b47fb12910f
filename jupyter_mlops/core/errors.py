"""The one exception hierarchy of jupyter-mlops.

Every surface (REST, magics, CLI) maps these classes, and only these, to its
own way of reporting: the server to HTTP statuses in one place
(`jupyter_mlops.server.errors`), the CLI to exit codes, the magics to a short
message without a traceback. Core code raises them with a message written
for the person who will read it, so no adapter has to rephrase anything.
"""

from __future__ import annotations

from typing import Any


class MLOpsError(Exception):
    """Base class: an error the user can act on (never a bug)."""

    #: short machine-readable code, stable across releases (the frontend keys on it)
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(MLOpsError, ValueError):
    """The caller gave something malformed: a bad name, a bad file, a bad value."""

    code = "invalid_input"


class NotFound(MLOpsError, LookupError):
    """A named object (dataset, run, pipeline, version…) does not exist."""

    code = "not_found"


class Conflict(MLOpsError):
    """The request contradicts the current state (name taken, run already active…)."""

    code = "conflict"


class OutsideWorkspace(InvalidInput):
    """A path argument escapes the workspace root; refused before touching disk."""

    code = "outside_workspace"


class BackendUnavailable(MLOpsError):
    """A store or engine the workbench needs (state DB, MLflow, Docker…) is unreachable."""

    code = "backend_unavailable"
