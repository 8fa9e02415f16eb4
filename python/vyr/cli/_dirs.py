"""`vyr run --dir HOST_DIR[::GUEST_PATH][:ro]`: a host directory as a state for one run.

Like wasmtime's `--dir`: the directory's files are copied into a fresh state (the node's
hostile-input rules and size cap apply), bound at GUEST_PATH, and for a read-write mount the
committed result is written back into HOST_DIR only when the task succeeded: file by file,
each renamed into place, never outside HOST_DIR. A failed task leaves HOST_DIR as it was.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from vyr.cli._values import UsageProblem


@dataclass(frozen=True)
class DirMount:
    """One `--dir`: the host directory, where the guest sees it, and how."""

    host: Path
    guest: str
    mode: str
    state: str  # the state made for it (a fresh name per run)


def parse_dir(text: str) -> DirMount:
    """Reads `HOST_DIR[::GUEST_PATH][:ro]`. Without GUEST_PATH the guest sees the directory at
    its host path: an absolute one as is, a relative one below `/` (as a WASI program whose
    working directory is `/` resolves it), so `--dir .` is the guest's `/`."""
    spec, mode = text, "rw"
    for suffix in (":ro", ":rw"):
        if spec.endswith(suffix):
            spec, mode = spec[: -len(suffix)], suffix[1:]
            break
    host_text, sep, guest = spec.partition("::")
    if not host_text:
        raise UsageProblem(f"{text!r}: no host directory", "expected HOST_DIR[::GUEST_PATH][:ro]")
    host = Path(host_text)
    if not host.is_dir():
        raise UsageProblem(f"{host_text}: not a directory", "--dir takes an existing directory")
    if not sep:
        guest = default_guest_path(host_text)
    if not guest.startswith("/"):
        raise UsageProblem(
            f"{text!r}: the guest path {guest!r} is not absolute",
            "write HOST_DIR::/GUEST_PATH, e.g. --dir ./data::/data",
        )
    return DirMount(host.resolve(), guest, mode, f"dir-{secrets.token_hex(6)}")


def default_guest_path(host_text: str) -> str:
    """The guest path of `--dir HOST` without `::GUEST`."""
    path = posixpath.normpath(host_text)
    if path.startswith("/"):
        return path
    if path == ".." or path.startswith("../"):
        raise UsageProblem(
            f"{host_text}: a path above the working directory has no default guest path",
            "write HOST_DIR::/GUEST_PATH",
        )
    return "/" if path == "." else "/" + path


def prepare(node: Any, mounts: list[DirMount]) -> list[Any]:
    """Fills one state per mount from its directory; returns the bindings to submit."""
    from vyr.types import StateBinding

    bindings = []
    for mount in mounts:
        node.create_state(mount.state, source=mount.host)
        bindings.append(StateBinding(mount.state, mount.mode, mount.guest))  # type: ignore[arg-type]
    return bindings


def write_back(node: Any, mounts: list[DirMount], result: Any) -> None:
    """Writes each read-write mount's committed content back into its host directory, when
    the task succeeded and changed it."""
    if result.status != "succeeded":
        return
    from vyr import _core

    # A writer's digests say whether it changed anything; without them, write back anyway.
    changed = {
        b.name
        for b in result.bindings
        if b.mode == "rw" and (b.after is None or b.after != b.before)
    }
    for mount in mounts:
        if mount.mode != "rw" or mount.state not in changed:
            continue
        with tempfile.TemporaryDirectory(prefix="vyr-dir-") as scratch:
            exported = os.path.join(scratch, "content")
            node.export_state(mount.state, exported)
            _core.write_back(exported, str(mount.host))


def dir_option(command: Any) -> Any:
    """The repeatable `--dir` option of `vyr run`."""
    return click.option(
        "--dir",
        "dirs",
        multiple=True,
        metavar="HOST_DIR[::GUEST_PATH][:ro]",
        help="Mount a host directory (repeatable), as wasmtime's --dir: its files are copied "
        "into a state the guest sees at GUEST_PATH (default: the host path; a relative one "
        "below /, so '.' is /). Read-write unless :ro; the result is written back into "
        "HOST_DIR only if the task succeeds.",
    )(command)
