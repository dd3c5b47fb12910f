"""The store's copy: exact bytes and hash whichever way it writes (O_DIRECT or buffered)."""

from __future__ import annotations

import os

import pytest

from jupyter_mlops.core.datasets import copying
from jupyter_mlops.core.datasets.hashing import CHUNK, hash_file


def _source(path, size: int):
    # not a repeating pattern: a chunk written at the wrong offset must change the bytes
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.parametrize("size", [0, 1, 4096, 4097, CHUNK, CHUNK + 1, 2 * CHUNK + 12345])
def test_direct_copy_writes_exactly_the_source(tmp_path, monkeypatch, size):
    monkeypatch.setattr(copying, "DIRECT_MIN_BYTES", 0)
    src = _source(tmp_path / "src.bin", size)
    dst = tmp_path / "dst.bin"
    dst.touch()
    used = []
    real = copying._copy_direct
    monkeypatch.setattr(copying, "_copy_direct", lambda s, fd: used.append(fd) or real(s, fd))
    key, written = copying.copy_hashing(src, dst)
    assert used, "the direct path was not taken on this filesystem"
    assert written == size == dst.stat().st_size  # the padding of the last block is cut off
    assert dst.read_bytes() == src.read_bytes()
    assert (key, size) == hash_file(src)


def test_buffered_copy_when_disabled_or_small(tmp_path, monkeypatch):
    src = _source(tmp_path / "src.bin", 3 * 4096 + 7)
    calls = []
    monkeypatch.setattr(copying, "_copy_direct", lambda *a: calls.append(a))
    for env in ("0", ""):
        monkeypatch.setenv(copying.ENV_DIRECT_IO, env)
        dst = tmp_path / f"dst{env}.bin"
        dst.touch()
        assert copying.copy_hashing(src, dst) == hash_file(src)
        assert dst.read_bytes() == src.read_bytes()
    assert calls == []  # "0" disables it; the small file is below DIRECT_MIN_BYTES anyway
    monkeypatch.setattr(copying, "DIRECT_MIN_BYTES", 0)
    monkeypatch.setenv(copying.ENV_DIRECT_IO, "0")
    assert copying.copy_hashing(src, tmp_path / "off.bin") == hash_file(src)
    assert calls == []


def test_a_filesystem_refusing_direct_writes_falls_back_to_buffered(tmp_path, monkeypatch):
    """The refusal is simulated (EINVAL from the first write, as from a device whose block
    size is larger than 4096): no filesystem here accepts O_DIRECT at open and then refuses."""
    import errno

    monkeypatch.setattr(copying, "DIRECT_MIN_BYTES", 0)
    src = _source(tmp_path / "src.bin", CHUNK + 99)
    dst = tmp_path / "dst.bin"
    dst.touch()

    def refuse(fd, view):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(copying, "_write_all", refuse)
    assert copying.copy_hashing(src, dst) == hash_file(src)
    assert dst.read_bytes() == src.read_bytes()


def test_a_failing_direct_write_raises(tmp_path, monkeypatch):
    import errno

    monkeypatch.setattr(copying, "DIRECT_MIN_BYTES", 0)
    src = _source(tmp_path / "src.bin", 2 * CHUNK)
    dst = tmp_path / "dst.bin"
    dst.touch()

    def full(fd, view):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(copying, "_write_all", full)
    with pytest.raises(OSError, match="No space left"):
        copying.copy_hashing(src, dst)
