"""A content-addressed blob store in the node home: task inputs and outputs, by sha256 digest.

Files live at `<home>/blobs/sha256/<hex>` and are written to a temp file and renamed, so a
reader never sees a torn blob, even after the process is killed. (No fsync, as with the journal's
`synchronous=NORMAL`: a process crash loses nothing; only power loss can.)
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from pathlib import Path

from vyr.errors import BlobNotFound, DigestMismatch, InputTooLarge, InvalidDigest

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_KNOWN_LIMIT = 65536  # digests remembered as stored, so a repeated output costs no stat call
# `.<hex>.<pid>.<thread>.tmp`: the temp name `put` writes before its rename.
_TEMPORARY = re.compile(r"\.[0-9a-f]{64}\.(?P<pid>[0-9]+)\.[0-9]+\.tmp")
# A live writer renames its temp file within this; an older one's pid was reused after a kill.
_STALE_AFTER_S = 60.0
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


def digest_of(data: bytes) -> str:
    """The `sha256:<hex>` digest of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobStore:
    """Digest-addressed bytes under `<root>/sha256/`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root) / "sha256"
        self.root.mkdir(parents=True, exist_ok=True)
        self._known: set[str] = set()
        for directory in (self.root.parent, self.root):
            os.chmod(directory, 0o700)  # inputs and outputs are the users' data
        self._remove_leftovers()

    def put(self, data: bytes, expected_digest: str | None = None) -> str:
        """Stores `data` (idempotent); checks `expected_digest` when given; returns the digest."""
        digest = digest_of(data)
        if expected_digest and expected_digest != digest:
            raise DigestMismatch(f"input hashes to {digest}, not {expected_digest}")
        if digest in self._known:  # blobs are never deleted while the node runs
            return digest
        path = self._path(digest)
        if not path.exists():
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                with open(temporary, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, path)
            except BaseException:
                # A full disk (ENOSPC) or an I/O error must not leave the half-written file.
                temporary.unlink(missing_ok=True)
                raise
        self._remember(digest)
        return digest

    def writer(self, limit: int) -> BlobWriter:
        """A blob written in chunks straight to disk (state archives: too large to hold in
        memory), refused once it passes `limit` bytes."""
        temporary = (
            self.root / f".upload.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}.tmp"
        )
        return BlobWriter(self, temporary, limit)

    def path(self, digest: str) -> Path:
        """Where the blob `digest` is stored; `BlobNotFound` if absent."""
        path = self._path(digest)
        if not path.exists():
            raise BlobNotFound(f"no blob {digest} on this node (upload it with PutInput first)")
        return path

    def _adopt(self, temporary: Path, digest: str) -> None:
        os.replace(temporary, self._path(digest))
        self._remember(digest)

    def _remember(self, digest: str) -> None:
        if len(self._known) >= _KNOWN_LIMIT:
            self._known.clear()
        self._known.add(digest)

    def get(self, digest: str) -> bytes:
        """The bytes of `digest`; `BlobNotFound` if absent."""
        if digest == EMPTY_DIGEST:
            return b""
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {digest} on this node") from None

    def _remove_leftovers(self) -> None:
        """Removes the temp files of writes a kill -9 cut short: their writer process is gone,
        or they were last written a minute or more before this store was opened."""
        stale_before = time.time() - _STALE_AFTER_S
        with os.scandir(self.root) as entries:
            for entry in entries:
                found = _TEMPORARY.fullmatch(entry.name)
                if found is None:
                    continue
                try:
                    if _process_alive(int(found["pid"])) and entry.stat().st_mtime > stale_before:
                        continue  # another process on this home is writing it now
                    os.unlink(entry.path)
                except OSError:
                    continue  # gone already, or not ours to remove: tried again next start

    def _path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise InvalidDigest(f"{digest!r} is not sha256: followed by 64 lowercase hex digits")
        return self.root / digest.removeprefix("sha256:")


class BlobWriter:
    """One streamed upload: chunks are hashed and appended to a temp file, which becomes the
    blob only once `finish` checks the digest; `abort` (or any error) removes it."""

    def __init__(self, store: BlobStore, temporary: Path, limit: int) -> None:
        self._store = store
        self._temporary = temporary
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        self._handle = open(temporary, "xb")

    def write(self, chunk: bytes) -> None:
        """Appends a chunk; `InputTooLarge` past the limit (and the upload is discarded)."""
        self.size += len(chunk)
        if self.size > self._limit:
            self.abort()
            raise InputTooLarge(f"state content exceeds the node's limit of {self._limit} bytes")
        self._hash.update(chunk)
        try:
            self._handle.write(chunk)
        except OSError:
            self.abort()
            raise

    def finish(self, expected_digest: str | None = None) -> str:
        """Stores the upload under its digest (checked against `expected_digest`)."""
        self._handle.close()
        digest = "sha256:" + self._hash.hexdigest()
        if expected_digest and expected_digest != digest:
            self.abort()
            raise DigestMismatch(f"upload hashes to {digest}, not {expected_digest}")
        self._store._adopt(self._temporary, digest)
        return digest

    def abort(self) -> None:
        """Discards the upload."""
        self._handle.close()
        self._temporary.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False  # no such process (or no such pid at all)
    except PermissionError:
        return True  # it exists, as another user
    return True
