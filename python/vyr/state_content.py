"""A state's content on the caller's side: a directory or tar archive to fill a state from, and
where an exported archive ends up (`vyr state create --from`, `vyr state export --out`).

The node's side (unpacking under its caps, the tree digest) is the core's; this module only
decides between "a directory" and "an archive" and keeps half-written results out of sight.
Archives arriving from a node are unpacked with the same hostile-input rules the node applies.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vyr import _core
from vyr.errors import InvalidArgument

# A client unpacking an export trusts the node's caps, not its bytes: these bound the work an
# archive can cause here (the largest state cap a node accepts, a generous file count).
CLIENT_MAX_BYTES = 1 << 40
CLIENT_MAX_FILES = 10_000_000


def is_archive_path(out: str | os.PathLike[str]) -> bool:
    """Whether an export target names an archive (a path ending in `.tar`) or a directory."""
    return os.fspath(out).endswith(".tar")


def check_source(source: str | os.PathLike[str]) -> Path:
    """A fill source that exists: a directory, or a (possibly gzipped) tar file."""
    path = Path(source)
    if not path.exists():
        raise InvalidArgument(f"{path}: no such file or directory to fill a state from")
    if not (path.is_dir() or path.is_file()):
        raise InvalidArgument(f"{path}: expected a directory or a .tar file")
    return path


def check_export_target(out: str | os.PathLike[str]) -> Path:
    """An export target that will not overwrite anything: a new `.tar`, or a directory that is
    missing or empty."""
    path = Path(out)
    if is_archive_path(path):
        if path.exists():
            raise InvalidArgument(f"{path} already exists; export to a new path")
        if not path.parent.is_dir():
            raise InvalidArgument(f"{path.parent}: no such directory for the archive")
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidArgument(f"{path} exists and is not an empty directory; export to a new one")
    return path


@contextmanager
def archive_of(source: Path) -> Iterator[Path]:
    """`source` as a tar file: itself if it is one, else a temporary archive of the directory
    (removed afterwards)."""
    if source.is_file():
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="vyr-pack-") as scratch:
        archive = Path(scratch) / "state.tar"
        _core.pack_tar(str(source), str(archive))
        yield archive


@contextmanager
def export_staging(out: Path) -> Iterator[Path]:
    """A temp file beside `out` to receive an archive; removed unless `place_export` used it."""
    parent = out.parent if is_archive_path(out) else out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".vyr-export-", suffix=".tar", dir=parent)
    os.close(handle)
    staged = Path(name)
    try:
        yield staged
    finally:
        staged.unlink(missing_ok=True)


def place_export(staged: Path, out: Path) -> None:
    """Moves a received archive to `out`: renamed as is for a `.tar`, else unpacked into the
    directory `out` (created; it was checked missing or empty)."""
    if is_archive_path(out):
        os.replace(staged, out)
        return
    if out.is_dir():
        out.rmdir()  # empty (checked): the unpack creates it whole, or not at all
    _core.unpack_tar(str(staged), str(out), CLIENT_MAX_BYTES, CLIENT_MAX_FILES)
