"""Content hashes: a fast one that names objects, a cryptographic one for audits.

Objects are named by XXH3-128. Deduplication needs a hash that is cheap
(~17 GB/s, so hashing never dominates a snapshot) and whose accidental
collisions are negligible (128 bits); it does not need resistance against
someone forging a collision. When provenance must hold up against tampering,
`sha256_file` is computed on demand and recorded next to the version.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import BinaryIO

import xxhash

HASH_ALGO = "xxh3_128"
#: hex length of an XXH3-128 digest; object names and versions have this length
HASH_HEX_LEN = 32
#: read size for hashing and copying: large enough to amortise syscalls
CHUNK = 8 << 20


def new_hasher() -> "xxhash.xxh3_128":
    return xxhash.xxh3_128()


def _hash_stream(handle: BinaryIO, hasher: object, update: Callable[[memoryview], None]) -> int:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    while True:
        n = handle.readinto(buf)  # type: ignore[attr-defined]
        if not n:
            return total
        update(view[:n])
        total += n


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(XXH3-128 hex, size) of a file, read in large chunks into one buffer."""
    hasher = new_hasher()
    with open(path, "rb", buffering=0) as handle:
        size = _hash_stream(handle, hasher, hasher.update)
    return hasher.hexdigest(), size


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The audit digest: slower, but what other tools and auditors can recompute."""
    hasher = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        _hash_stream(handle, hasher, hasher.update)
    return hasher.hexdigest()


def is_hash_prefix(text: str) -> bool:
    """Whether a version reference could be (a prefix of) a content hash."""
    return 0 < len(text) <= HASH_HEX_LEN and all(c in "0123456789abcdef" for c in text)
