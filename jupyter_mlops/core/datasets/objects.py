"""The content-addressed object store behind dataset versions.

Every object is named by the XXH3-128 of its bytes (`objects/ab/cdef…`), so
identical data is stored once and a version hash is also its object's name.

Writes are atomic: bytes go to a temp file *inside the objects folder* (same
filesystem, so `os.replace` is an atomic rename), are hashed there, and only
then renamed to their final name. An interrupted or failing write (crash,
full disk) therefore leaves at most a `tmp-*` file, never a half object under
a hash name; `gc` sweeps old temps.

Files are brought in by reflink (copy-on-write clone) when the filesystem
allows (btrfs, XFS, APFS-like), else by a one-pass copy that hashes exactly
the bytes it writes (`copying.py`: large files bypass the page cache). Hardlinks are deliberately not used: the object would
share an inode with the user's file, and the next in-place edit of that file
would silently change a version that claims to be immutable.

A non-local store is any fsspec URL (`s3://bucket/prefix`), selected with
`JUPYTER_MLOPS_OBJECTS_URL` (or a workspace's `objects_url`). It stages and
hashes locally, then uploads to the final key: object stores make a single
PUT visible atomically, which gives the same no-half-object guarantee.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ..errors import BackendUnavailable, InvalidInput
from .copying import copy_hashing
from .hashing import HASH_HEX_LEN, hash_file, sha256_file

ENV_OBJECTS_URL = "JUPYTER_MLOPS_OBJECTS_URL"
#: set to 1 to fsync objects before they are renamed into place (power-loss safety)
ENV_FSYNC = "JUPYTER_MLOPS_FSYNC"
TMP_PREFIX = "tmp-"
#: Linux ioctl number of FICLONE (reflink a whole file)
_FICLONE = 0x40049409
_NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS,
               errno.EBADF, errno.EPERM}


@dataclass(frozen=True)
class PutResult:
    """What a write produced: the object's name, its size, and whether it was new."""

    key: str
    size: int
    created: bool


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    mtime: float


class ObjectStore(Protocol):
    """The few operations snapshots, loads and gc need from a store."""

    url: str

    def location(self, key: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def touch(self, key: str) -> None: ...
    def write(self, producer: Callable[[Path], None]) -> PutResult: ...
    def put_file(self, src: Path) -> PutResult: ...
    def put_bytes(self, data: bytes) -> PutResult: ...
    def read_bytes(self, key: str) -> bytes: ...
    def local_path(self, key: str) -> Path: ...
    def sha256(self, key: str) -> str: ...
    def rehash(self, key: str) -> str: ...
    def iter_objects(self) -> Iterator[StoredObject]: ...
    def remove(self, key: str) -> None: ...
    def stale_temps(self, older_than_s: float) -> list[StoredObject]: ...
    def remove_temp(self, name: str) -> None: ...


def _check_key(key: str) -> str:
    if len(key) != HASH_HEX_LEN or any(c not in "0123456789abcdef" for c in key):
        raise InvalidInput(f"{key!r} is not an object hash.")
    return key


def _fsync_enabled() -> bool:
    return os.environ.get(ENV_FSYNC, "").lower() in {"1", "true", "yes"}


def try_reflink(src: Path, dst_handle: BinaryIO) -> bool:
    """Clone `src` into an open, empty file; False when the filesystem cannot."""
    try:
        with open(src, "rb") as handle:
            fcntl.ioctl(dst_handle.fileno(), _FICLONE, handle.fileno())
        return True
    except OSError as exc:
        if exc.errno in _NO_REFLINK:
            return False
        raise


class LocalObjectStore:
    """Objects as read-only files under a local folder (`.mlops/objects` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    # -- naming -----------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key[2:]

    def location(self, key: str) -> str:
        return str(self.path(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def touch(self, key: str) -> None:
        """Refresh the mtime: gc spares recent objects a snapshot is about to reference."""
        try:
            os.utime(self.path(key))
        except OSError:  # gone, or owned by another user of a shared store: harmless
            pass

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def _temp(self) -> Iterator[Path]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"Cannot create the object store {self.root}: {exc}") from exc
        tmp = self.root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            yield tmp
        finally:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass

    def _commit(self, tmp: Path, key: str, size: int) -> PutResult:
        dest = self.path(key)
        if dest.is_file():
            self.touch(key)
            return PutResult(key, size, False)
        if _fsync_enabled():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        dest.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        # two writers of the same content may race here; both renames are atomic
        # and install identical bytes, so the loser's replace is harmless
        os.replace(tmp, dest)
        return PutResult(key, size, True)

    def write(self, producer: Callable[[Path], None]) -> PutResult:
        """Let `producer` write a temp path, then name the bytes by their hash."""
        with self._temp() as tmp:
            producer(tmp)
            key, size = hash_file(tmp)
            return self._commit(tmp, key, size)

    def put_file(self, src: Path) -> PutResult:
        with self._temp() as tmp:
            with open(tmp, "wb") as out:
                cloned = try_reflink(src, out)
            if cloned:  # hash the clone: it is a frozen copy, the source may move on
                key, size = hash_file(tmp)
            else:
                key, size = copy_hashing(src, tmp)
            return self._commit(tmp, key, size)

    def put_bytes(self, data: bytes) -> PutResult:
        return self.write(lambda tmp: tmp.write_bytes(data))

    # -- reading ----------------------------------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def local_path(self, key: str) -> Path:
        return self.path(key)

    def sha256(self, key: str) -> str:
        return sha256_file(self.path(key))

    def rehash(self, key: str) -> str:
        return hash_file(self.path(key))[0]

    # -- housekeeping -----------------------------------------------------------------------
    def iter_objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for prefix in sorted(self.root.iterdir()):
            if len(prefix.name) != 2 or not prefix.is_dir():
                continue
            for entry in os.scandir(prefix):
                if entry.is_file():
                    st = entry.stat()
                    yield StoredObject(prefix.name + entry.name, st.st_size, st.st_mtime)

    def remove(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        try:
            path.parent.rmdir()  # only succeeds when it was the last object of its prefix
        except OSError:
            pass

    def stale_temps(self, older_than_s: float) -> list[StoredObject]:
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than_s
        found = []
        for entry in os.scandir(self.root):
            if entry.name.startswith(TMP_PREFIX) and entry.is_file():
                st = entry.stat()
                if st.st_mtime < cutoff:
                    found.append(StoredObject(entry.name, st.st_size, st.st_mtime))
        return found

    def remove_temp(self, name: str) -> None:
        if not name.startswith(TMP_PREFIX) or "/" in name:
            raise InvalidInput(f"{name!r} is not a temp file of the object store.")
        try:
            (self.root / name).unlink()
        except FileNotFoundError:
            pass


class FsspecObjectStore:
    """Objects under an fsspec URL; staging and hashing happen in a local folder."""

    def __init__(self, url: str, staging_dir: Path, fs: Any = None) -> None:
        if fs is None:
            try:
                import fsspec
            except ImportError as exc:
                raise BackendUnavailable(
                    f"The object store {url} needs fsspec (and its driver, e.g. s3fs): "
                    "pip install fsspec s3fs") from exc
            fs, _, paths = fsspec.get_fs_token_paths(url)
            base = paths[0]
        else:
            base = url.split("://", 1)[-1]
        self.fs = fs
        self.url = url.rstrip("/")
        self.base = base.rstrip("/")
        self.staging = LocalObjectStore(staging_dir)

    def _remote(self, key: str) -> str:
        _check_key(key)
        return f"{self.base}/{key[:2]}/{key[2:]}"

    def location(self, key: str) -> str:
        _check_key(key)
        return f"{self.url}/{key[:2]}/{key[2:]}"

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._remote(key)))

    def touch(self, key: str) -> None:
        """Remote stores keep no useful mtime to refresh; gc's grace period uses upload time."""

    def _upload(self, local: PutResult) -> PutResult:
        remote = self._remote(local.key)
        if self.fs.exists(remote):
            return PutResult(local.key, local.size, False)
        self.fs.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(self.staging.path(local.key)), remote)
        return PutResult(local.key, local.size, True)

    def write(self, producer: Callable[[Path], None]) -> PutResult:
        return self._upload(self.staging.write(producer))

    def put_file(self, src: Path) -> PutResult:
        return self._upload(self.staging.put_file(src))

    def put_bytes(self, data: bytes) -> PutResult:
        return self._upload(self.staging.put_bytes(data))

    def local_path(self, key: str) -> Path:
        """A local copy (the staging folder doubles as a download cache)."""
        if self.staging.exists(key):
            return self.staging.path(key)
        remote = self._remote(key)

        def download(tmp: Path) -> None:
            self.fs.get_file(remote, str(tmp))

        result = self.staging.write(download)
        if result.key != key:
            self.staging.remove(result.key)
            raise BackendUnavailable(
                f"Object {key} downloaded from {self.url} has hash {result.key}: "
                "the remote copy is corrupt.")
        return self.staging.path(key)

    def read_bytes(self, key: str) -> bytes:
        return self.local_path(key).read_bytes()

    def sha256(self, key: str) -> str:
        return sha256_file(self.local_path(key))

    def rehash(self, key: str) -> str:
        """Hash what the remote holds now, not the local cache."""
        self.staging.remove(key)
        remote = self._remote(key)
        result = self.staging.write(lambda tmp: self.fs.get_file(remote, str(tmp)))
        if result.key != key:
            self.staging.remove(result.key)
        return result.key

    def iter_objects(self) -> Iterator[StoredObject]:
        if not self.fs.exists(self.base):
            return
        base = self.base.lstrip("/") + "/"
        for path, info in sorted(self.fs.find(self.base, detail=True).items()):
            path = path.lstrip("/")  # some filesystems root their paths at "/", others not
            if not path.startswith(base):
                continue
            rel = path[len(base):].split("/")
            if len(rel) == 2 and len(rel[0]) == 2 and len(rel[0] + rel[1]) == HASH_HEX_LEN:
                mtime = info.get("mtime") or info.get("LastModified") or info.get("created")
                if hasattr(mtime, "timestamp"):
                    mtime = mtime.timestamp()
                yield StoredObject(rel[0] + rel[1], int(info.get("size") or 0),
                                   float(mtime or 0.0))

    def remove(self, key: str) -> None:
        remote = self._remote(key)
        if self.fs.exists(remote):
            self.fs.rm(remote)
        self.staging.remove(key)

    def stale_temps(self, older_than_s: float) -> list[StoredObject]:
        return self.staging.stale_temps(older_than_s)

    def remove_temp(self, name: str) -> None:
        self.staging.remove_temp(name)


@contextmanager
def gc_lock(workspace: Any, exclusive: bool) -> Iterator[None]:
    """Snapshots hold it shared from object write to row commit; gc deletes holding it
    exclusively. Covers processes of one machine; other hosts rely on gc's grace period."""
    folder = workspace.mlops_dir
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".datasets-gc.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def store_for(workspace: Any) -> ObjectStore:
    """The workspace's object store, created once and cached on the workspace."""
    cached = workspace.__dict__.get("_dataset_object_store")
    if cached is not None:
        return cached
    url = getattr(workspace, "objects_url", None) or os.environ.get(ENV_OBJECTS_URL)
    store: ObjectStore
    if not url:
        store = LocalObjectStore(workspace.objects_dir)
    elif _is_local(url):
        store = LocalObjectStore(Path(url.removeprefix("file://")).expanduser())
    else:
        store = FsspecObjectStore(url, workspace.mlops_dir / "cache" / "objects")
    workspace.__dict__["_dataset_object_store"] = store
    return store
