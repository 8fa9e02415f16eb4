"""The tree digest (`vyrTreeV1`): one sha256 for a directory tree, for states and mounts.

The definition (docs/receipts.md, "Tree digest", which also has an independent snippet):

    sha256( "vyr-tree-v1" NUL  ||  record(e) for every entry e below the root, sorted by path )

where an entry's `path` is its path relative to the root, components joined by "/", as raw
bytes (no "./", no trailing "/"), sorted bytewise; the root itself is not an entry. `perm` is
the owner's read, write and execute bits as three characters ("rw-", "rwx", "r--").

    directory:  "d" SP perm SP path NUL
    file:       "f" SP perm SP size SP sha256hex(content) SP path NUL
    symlink:    "l" SP path NUL target NUL          (the link's text; never followed)

Only what a WASI guest can observe or change is covered: no times, owners, group or other
bits (they differ with the host's umask and user). Any other kind of entry (a FIFO, socket or
device) has no place in a state and is refused.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from vyr.errors import InvalidArgument

ALGORITHM = "vyrTreeV1"  # its key in an in-toto DigestSet
HEADER = b"vyr-tree-v1\0"
_CHUNK = 1 << 20


def tree_digest(root: str | os.PathLike[str]) -> str:
    """The `vyrTreeV1` digest of the tree under `root` (64 lowercase hex digits)."""
    root_path = Path(root)
    try:
        if not stat.S_ISDIR(os.lstat(root_path).st_mode):
            raise InvalidArgument(f"{root_path} is not a directory: a tree digest needs one")
    except FileNotFoundError:
        raise InvalidArgument(f"{root_path} does not exist") from None
    digest = hashlib.sha256(HEADER)
    for relative, full in sorted(_entries(os.fsencode(root_path), b"")):
        digest.update(_record(relative, full))
    return digest.hexdigest()


def _entries(directory: bytes, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """(relative path, full path) of every entry below `directory`, depth first."""
    found: list[tuple[bytes, bytes]] = []
    try:
        scanned = list(os.scandir(directory))
    except OSError as error:
        raise InvalidArgument(f"cannot list {os.fsdecode(directory)}: {error.strerror}") from None
    for entry in scanned:
        relative = prefix + entry.name
        found.append((relative, entry.path))
        if entry.is_dir(follow_symlinks=False):
            found.extend(_entries(entry.path, relative + b"/"))
    return found


def _record(relative: bytes, full: bytes) -> bytes:
    info = os.lstat(full)
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return b"l " + relative + b"\0" + os.readlink(full) + b"\0"
    perm = _perm(mode)
    if stat.S_ISDIR(mode):
        return b"d " + perm + b" " + relative + b"\0"
    if stat.S_ISREG(mode):
        size, content = _file_digest(full)
        return b"f %b %d %b %b\0" % (perm, size, content.encode(), relative)
    raise InvalidArgument(
        f"{os.fsdecode(full)} is neither a file, a directory nor a symlink: "
        "a tree digest covers only those"
    )


def _perm(mode: int) -> bytes:
    return (
        (b"r" if mode & stat.S_IRUSR else b"-")
        + (b"w" if mode & stat.S_IWUSR else b"-")
        + (b"x" if mode & stat.S_IXUSR else b"-")
    )


def _file_digest(path: bytes) -> tuple[int, str]:
    """(size, sha256 hex) of a file's content, read in chunks."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as error:
        raise InvalidArgument(f"cannot read {os.fsdecode(path)}: {error.strerror}") from None
    return size, digest.hexdigest()
