"""Fault-injection helpers: a small tmpfs as a node home (a disk that fills up), and children
that run as root without root's override of file permissions (so a mode-000 file is unreadable).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

_PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: without them root obeys mode bits like anyone else.
_DAC_CAPABILITIES = (1, 2)


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str = "8m") -> Iterator[Path]:
    """Mounts a tmpfs of `size` at `directory` (needs root) and unmounts it afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        check=True,
    )
    try:
        yield directory
    finally:
        # Lazy: a process the test failed to stop may still hold a file open in it.
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill_up(directory: Path) -> Path:
    """Writes a filler file in `directory` until the file system is full; returns its path."""
    filler = directory / "filler"
    chunk = b"\xa5" * (64 << 10)
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    # Byte-sized leftovers: fill them too, so no write of any size fits.
    with open(filler, "ab", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0")
    return filler


def drop_file_permission_override() -> None:
    """A `preexec_fn`: drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so
    the program executed next (even as root) cannot read files its mode bits forbid."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _DAC_CAPABILITIES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
