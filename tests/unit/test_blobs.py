"""The blob store's temp files: a failed write leaves none, and a killed writer's are removed
when the store opens (issue 13 items 3 and 8)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from vyr.blobs import BlobStore


class _FullDisk:
    """A file whose writes fail as on a full disk."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_put_that_fails_leaves_no_temp_file(tmp_path: Path, monkeypatch: Any) -> None:
    store = BlobStore(tmp_path / "blobs")
    monkeypatch.setattr(
        "vyr.blobs.open", lambda path, mode: _FullDisk(open(path, mode)), raising=False
    )
    with pytest.raises(OSError) as failed:
        store.put(b"data")
    assert failed.value.errno == errno.ENOSPC
    assert list(store.root.iterdir()) == []


def test_opening_removes_only_temp_files_of_writers_that_are_gone(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    root = tmp_path / "blobs" / "sha256"
    root.mkdir(parents=True)
    dead = root / f".{'ab' * 32}.{child.pid}.1.tmp"
    live = root / f".{'cd' * 32}.{os.getpid()}.1.tmp"
    blob = root / ("ef" * 32)
    for path in (dead, live, blob):
        path.write_bytes(b"x")
    BlobStore(tmp_path / "blobs")
    assert (dead.exists(), live.exists(), blob.exists()) == (False, True, True)
