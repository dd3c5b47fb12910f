"""Deploy targets by name, loaded only when used.

Built in: `local` (a model server process per version on this machine) and
`docker` (an image per version, run as a container). Other packages add
targets through the `jupyter_mlops.deploy_targets` entry-point group
(`name = "package.module:TargetClass"`, a subclass of `Target`).
"""

from __future__ import annotations

import importlib
from typing import Any

from ...errors import InvalidInput
from .base import Target, VersionHandle, VersionSpec, VersionStartError

ENTRY_POINT_GROUP = "jupyter_mlops.deploy_targets"

_BUILTIN = {
    "local": "jupyter_mlops.core.deploy.targets.local:LocalTarget",
    "docker": "jupyter_mlops.core.deploy.targets.docker:DockerTarget",
}


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    try:
        return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    except Exception:  # a broken third-party distribution must not break deploys
        return {}


def target_names() -> list[str]:
    return sorted({*_BUILTIN, *_entry_points()})


def target_class(name: str) -> type[Target]:
    """The class registered as `name` (imported now, not before)."""
    spec = _BUILTIN.get(name) or _entry_points().get(name)
    if spec is None:
        raise InvalidInput(f"Unknown deploy target {name!r}; available: "
                           f"{', '.join(target_names())}.", details={"target": name})
    module, _, attr = spec.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Target)):
        raise InvalidInput(f"Deploy target {name!r} ({spec}) is not a Target subclass.")
    return cls


def get_target(name: str, options: dict[str, Any] | None = None) -> Target:
    return target_class(name)(options)


__all__ = ["ENTRY_POINT_GROUP", "Target", "VersionHandle", "VersionSpec", "VersionStartError",
           "get_target", "target_class", "target_names"]
