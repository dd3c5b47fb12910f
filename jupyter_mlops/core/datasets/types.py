"""The values the dataset API hands out, and the rules for names and tags.

`DatasetVersion` is a detached copy of a version row: safe to keep in a
notebook variable, pass across threads, or serialise with `to_dict()` for
the REST layer. Its profile can be large (the drift sketch), so listings
leave it unloaded and the attribute fetches it on first access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import InvalidInput

KINDS = ("table", "file", "folder")
MAX_NAME_LEN = 128
MAX_TAG_LEN = 64
RESERVED_REFS = ("latest",)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ALLOWED = "letters, digits, '.', '_' and '-', starting with a letter or digit"


def validate_name(name: Any) -> str:
    """A dataset name is an identifier, never a path: it ends up in URLs and events."""
    if not isinstance(name, str):
        raise InvalidInput(f"A dataset name must be a string, got {type(name).__name__}.")
    if not name.strip():
        raise InvalidInput("A dataset name cannot be empty.")
    if len(name) > MAX_NAME_LEN:
        raise InvalidInput(f"Dataset name {name[:32]!r}… is {len(name)} characters long; "
                           f"the limit is {MAX_NAME_LEN}.")
    if "/" in name or "\\" in name or ".." in name:
        raise InvalidInput(f"Dataset name {name!r} looks like a path; a name is a plain "
                           f"identifier ({_ALLOWED}; no '/', '\\' or '..').")
    if not _NAME_RE.fullmatch(name):
        raise InvalidInput(f"Dataset name {name!r} has characters that are not allowed: "
                           f"use {_ALLOWED}.")
    return name


def validate_tags(tags: Any) -> list[str]:
    """Tags address versions (`load_dataset(name, "prod")`), so they follow name rules."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise InvalidInput(f"A tag must be a non-empty string, got {tag!r}.")
        if len(tag) > MAX_TAG_LEN:
            raise InvalidInput(f"Tag {tag[:32]!r}… is longer than {MAX_TAG_LEN} characters.")
        if not _NAME_RE.fullmatch(tag) or ".." in tag:
            raise InvalidInput(f"Tag {tag!r} is not valid: use {_ALLOWED}.")
        if tag in RESERVED_REFS:
            raise InvalidInput(f"{tag!r} is reserved (it always means the newest version).")
        if tag not in out:
            out.append(tag)
    return out


_UNLOADED: Any = object()


@dataclass
class DatasetVersion:
    """One immutable version of a dataset; `version` is its content hash (XXH3-128 hex)."""

    name: str
    version: str
    kind: str
    created: datetime
    bytes: int
    rows: int | None = None
    files: int | None = None
    schema: list[dict[str, Any]] | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    source: str | None = None
    path: str | None = None
    hash_algo: str = "xxh3_128"
    sha256: str | None = None
    actor: str | None = None
    snapshotted: datetime | None = None
    #: True when this call stored new content, False when it found it already there
    new: bool | None = None
    id: int | None = field(default=None, repr=False)
    _profile: Any = field(default=_UNLOADED, repr=False, compare=False)
    _workspace: Any = field(default=None, repr=False, compare=False)

    @property
    def short(self) -> str:
        return self.version[:12]

    @property
    def profile(self) -> dict[str, Any] | None:
        """The stored profile (None for files never profiled), fetched on first access."""
        if self._profile is _UNLOADED:
            from .catalog import load_profile

            self._profile = load_profile(self._workspace, self.id) if self.id else None
        return self._profile

    @profile.setter
    def profile(self, value: dict[str, Any] | None) -> None:
        self._profile = value

    def to_dict(self, *, profile: bool = True, sketch: bool = False) -> dict[str, Any]:
        """JSON-friendly; the drift sketch is left out unless asked for (it is large)."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "short": self.short,
            "kind": self.kind,
            "created": self.created.isoformat(),
            "snapshotted": self.snapshotted.isoformat() if self.snapshotted else None,
            "bytes": self.bytes,
            "rows": self.rows,
            "files": self.files,
            "schema": self.schema,
            "tags": list(self.tags),
            "description": self.description,
            "source": self.source,
            "path": self.path,
            "hash_algo": self.hash_algo,
            "sha256": self.sha256,
            "actor": self.actor,
        }
        if self.new is not None:
            out["new"] = self.new
        if profile:
            out["profile"] = strip_sketch(self.profile) if not sketch else self.profile
        return out

    def _repr_html_(self) -> str:
        from .render import version_html

        return version_html(self)

    def __str__(self) -> str:
        size = f"{self.rows} rows, " if self.rows is not None else ""
        tags = f" [{', '.join(self.tags)}]" if self.tags else ""
        return f"{self.name}@{self.short} ({self.kind}, {size}{self.bytes} bytes){tags}"


def strip_sketch(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    """The profile without the per-column drift sketches (what a UI needs)."""
    if profile is None:
        return None
    columns = [{k: v for k, v in col.items() if k != "sketch"} for col in profile.get("columns", [])]
    return {**profile, "columns": columns}


@dataclass
class DatasetSummary:
    """One line of `list_datasets()`: a dataset and its newest version."""

    name: str
    description: str | None
    created: datetime
    updated: datetime
    versions: int
    latest: str | None
    latest_kind: str | None
    latest_rows: int | None
    latest_bytes: int | None
    tags: dict[str, str]
    has_expectations: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "versions": self.versions,
            "latest": self.latest,
            "latest_kind": self.latest_kind,
            "latest_rows": self.latest_rows,
            "latest_bytes": self.latest_bytes,
            "tags": dict(self.tags),
            "has_expectations": self.has_expectations,
        }
