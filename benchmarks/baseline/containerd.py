"""A private containerd for the benchmarks: its own root, state directory and socket under
one base directory (default `/tmp/vyr-bench-containerd`), started and stopped by us, so that it
never touches a system containerd and leaves nothing running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE = Path("/tmp/vyr-bench-containerd")
NAMESPACE = "vyr-bench"
RUNTIME = "io.containerd.runc.v2"
START_TIMEOUT_S = 20.0

# The CRI plugin is what a kubelet talks to; it is disabled because the job runner drives
# containerd through `ctr` (the containerd API), and CRI would also want CNI networking.
CONFIG = """\
version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{base}/containerd.sock"

[ttrpc]
  address = "{base}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
"""


def missing_tools() -> list[str]:
    """Which of containerd, ctr and runc are not on PATH."""
    return [tool for tool in ("containerd", "ctr", "runc") if shutil.which(tool) is None]


@dataclass
class Containerd:
    """A running private containerd; `ctr(...)` runs the CLI against its socket."""

    base: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    ctr_path: str = field(default_factory=lambda: shutil.which("ctr") or "ctr")

    @property
    def socket(self) -> Path:
        return self.base / "containerd.sock"

    def ctr_argv(self, *args: str) -> list[str]:
        """The `ctr` command line for this containerd and the benchmark namespace."""
        return [self.ctr_path, "--address", str(self.socket), "--namespace", NAMESPACE, *args]

    def ctr(self, *args: str, check: bool = True, timeout: float = 300.0) -> str:
        """Runs `ctr ARGS` to completion; returns its stdout."""
        completed = subprocess.run(
            self.ctr_argv(*args), capture_output=True, timeout=timeout, check=False
        )
        if check and completed.returncode != 0:
            raise RuntimeError(
                f"ctr {' '.join(args)} exited {completed.returncode}: "
                f"{completed.stderr.decode(errors='replace').strip()}"
            )
        return completed.stdout.decode(errors="replace")

    def pids(self) -> list[int]:
        """containerd itself and every process below it (shims and containers)."""
        return [self.process.pid, *_descendants_of_shims(self.base)]

    def stop(self) -> None:
        """Kills every container, stops containerd, unmounts what it mounted."""
        try:
            for line in self.ctr("tasks", "list", "--quiet", check=False, timeout=30).split():
                self.ctr("tasks", "kill", "--signal", "SIGKILL", line, check=False, timeout=30)
            time.sleep(0.2)
            for line in self.ctr("containers", "list", "--quiet", check=False, timeout=30).split():
                self.ctr("tasks", "delete", "--force", line, check=False, timeout=30)
                self.ctr("containers", "delete", line, check=False, timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(15)
            # Shims outlive containerd by design; ours must not.
            for pid in _shim_pids(self.base):
                _kill(pid)
            _unmount_below(self.base)


def start(base: Path = DEFAULT_BASE, *, fresh: bool = False) -> Containerd:
    """Starts containerd on `base` (kept between runs unless `fresh`: images stay imported)."""
    if missing_tools():
        raise RuntimeError(f"not installed: {', '.join(missing_tools())}")
    for pid in _shim_pids(base):  # left over by a run that was killed
        _kill(pid)
    _unmount_below(base)
    if fresh and base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    config = base / "config.toml"
    config.write_text(CONFIG.format(base=base))
    socket = base / "containerd.sock"
    socket.unlink(missing_ok=True)
    log_path = base / "containerd.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["containerd", "--config", str(config), "--log-level", "warn"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    daemon = Containerd(base, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"containerd exited {process.returncode}: see {log_path}")
        if socket.exists():
            probe = subprocess.run(daemon.ctr_argv("version"), capture_output=True, check=False)
            if probe.returncode == 0:
                return daemon
        time.sleep(0.05)
    daemon.stop()
    raise RuntimeError(f"containerd did not answer within {START_TIMEOUT_S} s: see {log_path}")


def _shim_pids(base: Path) -> list[int]:
    """containerd-shim processes whose command line names our base directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and any(str(base).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


def _descendants_of_shims(base: Path) -> list[int]:
    shims = _shim_pids(base)
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    result, stack = [], list(shims)
    while stack:
        pid = stack.pop()
        result.append(pid)
        stack.extend(children.get(pid, []))
    return result


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _unmount_below(base: Path) -> None:
    """Lazily unmounts overlay and bind mounts containerd left under `base`."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(base) + "/")]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
