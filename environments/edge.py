"""Edge node: the daemon pinned to one CPU (taskset) under a 256 MiB memory cap (a cgroup),
listening on its unix socket only.

The cap needs a cgroup memory controller. On a pure cgroup v2 host that is `memory.max` in a
child of this process's cgroup; on a hybrid host (v2 mounted without controllers, v1
controllers beside it, as on the machine these numbers come from) it is the v1 `memory`
hierarchy: a child `vyrenv-edge-<pid>` of this process's own memory cgroup, with
`memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (no swap to escape to). An RLIMIT_AS
(prlimit) is no substitute: wasmtime reserves gigabytes of address space per instance up front.
systemd-run needs a running systemd, which a container usually lacks. The cgroup is removed
when the daemon has exited.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environments.common import (
    Artifacts,
    Inputs,
    PeakRss,
    daemon,
    pid_alive,
    records,
    run_workloads,
    vyr_cli,
)

NAME = "edge"
MEMORY_CAP = 256 << 20
PREFIX = "vyrenv-edge-"


@dataclass
class MemoryCgroup:
    """A cgroup with a memory cap: its directory and the file names of its controller version."""

    path: Path
    version: int

    @property
    def peak_file(self) -> Path:
        return self.path / ("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak")

    def reset_peak(self) -> None:
        if self.version == 1:
            self.peak_file.write_text("0")
        # cgroup v2's memory.peak is reset per open file only (Linux 6.12+): left as is.

    def peak(self) -> int | None:
        try:
            return int(self.peak_file.read_text())
        except (OSError, ValueError):
            return None

    def oom_events(self) -> int | None:
        try:
            if self.version == 1:
                return int((self.path / "memory.failcnt").read_text())
            for line in (self.path / "memory.events").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None


def memory_parent() -> tuple[Path, int] | None:
    """Where a memory-capped child cgroup can be made: (this process's cgroup, version)."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        controllers = mount / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            relative = next(
                (line.split(":", 2)[2] for line in lines if line.startswith("0::")), "/"
            )
            return mount / relative.lstrip("/"), 2
    v1 = next((line.split(":", 2)[2] for line in lines if line.split(":")[1] == "memory"), None)
    if v1 is not None and Path("/sys/fs/cgroup/memory").is_dir():
        return Path("/sys/fs/cgroup/memory") / v1.lstrip("/"), 1
    return None


def unavailable_reason() -> str | None:
    """Why this environment cannot be set up here, or None."""
    if os.geteuid() != 0:
        return "needs root (to create a memory cgroup)"
    if memory_parent() is None:
        return "no cgroup memory controller (neither v2 memory nor v1 memory is mounted)"
    return None


def remove_stale() -> None:
    """Removes edge cgroups left by a run that was killed (their owner pid is gone)."""
    found = memory_parent()
    if found is None:
        return
    for stale in found[0].glob(PREFIX + "*"):
        owner = stale.name.removeprefix(PREFIX)
        if owner.isdigit() and not pid_alive(int(owner)):
            with contextlib.suppress(OSError):
                stale.rmdir()


@contextlib.contextmanager
def memory_cgroup(limit: int) -> Iterator[MemoryCgroup]:
    """A fresh child cgroup capped at `limit` bytes (no swap); removed afterwards."""
    found = memory_parent()
    if found is None:
        raise RuntimeError(unavailable_reason() or "no memory cgroup")
    parent, version = found
    group = MemoryCgroup(parent / f"{PREFIX}{os.getpid()}", version)
    group.path.mkdir()
    try:
        if version == 1:
            (group.path / "memory.limit_in_bytes").write_text(str(limit))
            memsw = group.path / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                memsw.write_text(str(limit))
        else:
            (group.path / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):
                (group.path / "memory.swap.max").write_text("0")
        yield group
    finally:
        _remove(group.path)


def _remove(path: Path) -> None:
    # The daemon has exited by now; its exit can take a moment to leave the cgroup's task list.
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"could not remove cgroup {path} (processes still in it?)")


class CgroupPeak(PeakRss):
    """The daemon's peak RSS, plus its cgroup's peak usage (RSS + page cache)."""

    def __init__(self, pid: int, group: MemoryCgroup) -> None:
        super().__init__(pid)
        self.group = group

    def reset(self) -> None:
        super().reset()
        self.group.reset_peak()

    def extra(self) -> dict[str, Any]:
        return {
            "cgroup_peak_bytes": self.group.peak(),
            "cgroup_oom_events": self.group.oom_events(),
        }


def run(work: Path, artifacts: Artifacts, inputs: Inputs) -> list[dict[str, Any]]:
    """Sets up the edge node, runs the workloads, tears everything down; returns records."""
    from vyr.client import Client

    reason = unavailable_reason()
    if reason:
        raise RuntimeError(f"edge environment unavailable: {reason}")
    remove_stale()
    cpu = min(os.sched_getaffinity(0))
    with contextlib.ExitStack() as stack:
        group = stack.enter_context(memory_cgroup(MEMORY_CAP))
        # Join the cgroup first, then pin to one CPU, then exec the daemon: every byte it
        # ever touches is charged to the cap.
        wrapper = [
            "sh",
            "-c",
            'echo $$ > "$0/cgroup.procs" && exec "$@"',
            str(group.path),
            "taskset",
            "-c",
            str(cpu),
        ]
        node = stack.enter_context(daemon(work / "home", [], wrapper=wrapper))
        endpoint = node.addresses[0]
        if not endpoint.startswith("unix:"):
            raise RuntimeError(
                f"edge daemon should listen on its unix socket only, got {node.addresses}"
            )
        affinity = sorted(os.sched_getaffinity(node.pid))
        vyr_cli(None, "trust", "add", str(artifacts.public_key), endpoint=endpoint)
        vyr_cli(None, "artifact", "import", str(artifacts.bundle), endpoint=endpoint)
        client = stack.enter_context(Client(endpoint))
        outcomes = run_workloads(
            client, artifacts.digests, inputs, CgroupPeak(node.pid, group), work / "receipts"
        )
        notes = {
            "transport": f"unix socket only ({endpoint})",
            "cpus": affinity,
            "memory_cap_bytes": MEMORY_CAP,
            "cgroup": f"v{group.version} {group.path.name}",
        }
    return records(NAME, outcomes, **notes)
