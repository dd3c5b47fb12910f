"""What every part of the workbench side of deployments shares: names, the workspace.

`_workspace()` resolves the workspace the way every surface does when none is
given; `validate_name()` is the one rule for deployment names (they become
folder names, URL path segments and process arguments).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidInput
from ..workspace import Workspace

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _workspace(workspace: Any) -> Workspace:
    from ..workspace import use_workspace

    return use_workspace(workspace)


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"Invalid deployment name {name!r}: use 1 to 63 lower-case letters, "
                           "digits, '-' or '_', starting with a letter or digit.",
                           details={"name": name})
    return name

