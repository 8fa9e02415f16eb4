"""A real `vyr daemon` as a subprocess: started, waited for until it reports its listeners, and
stopped (SIGTERM so it drains, SIGKILL if it does not exit). Any other server that logs the same
`listening on ADDRESS` lines on stderr can be started the same way (`command=`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1
# Resolved once here: the child of a multi-threaded parent must not load libraries before exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


@dataclass
class Daemon:
    """A `vyr daemon` subprocess and the addresses it reported. A context manager: leaving the
    block stops it."""

    process: subprocess.Popen[str]
    home: Path
    addresses: list[str]
    log: list[str] = field(default_factory=list)
    pump: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The first address it reported (`unix:...`, `http://...`, `https://...`)."""
        return self.addresses[0]

    @property
    def pid(self) -> int:
        """The process id (of the wrapper, when one was used: it execs the daemon)."""
        return self.process.pid

    @property
    def stderr(self) -> str:
        """Everything it wrote to stderr so far."""
        return "".join(self.log)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code (raises `subprocess.TimeoutExpired` after `timeout` s)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reap()
        return code

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM; SIGKILL if it has not exited after `timeout` s. Returns the exit code."""
        try:
            return self.terminate(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL (no drain); returns the exit code."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reap()
        return self.process.returncode

    def __enter__(self) -> Daemon:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _reap(self) -> None:
        if self.pump is not None:
            self.pump.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


class DaemonFailed(Exception):
    """The daemon did not start."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(f"{message}\n{stderr}")
        self.stderr = stderr


def start_daemon(
    home: Path,
    *args: str,
    expect_listeners: int = 1,
    command: list[str] | None = None,
    wrapper: Sequence[str] = (),
    env: dict[str, str] | None = None,
    log: Path | None = None,
    detached: bool = False,
) -> Daemon:
    """Starts `[WRAPPER...] python -m vyr --home HOME daemon ARGS...` (or `command`, which must
    log the same `listening on` lines) and waits for `expect_listeners` `listening on` lines.

    `env` is added to this process's environment (without `VYR_ENDPOINT`); `log` also receives
    every stderr line. `detached`: the daemon gets its own session and SIGTERM when this process
    dies, even by SIGKILL (environments: nothing may outlive the runner). Raises `DaemonFailed`
    (with its stderr) when it exits or stays silent for START_TIMEOUT_S first.
    """
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    environment.pop("VYR_ENDPOINT", None)
    vyr = [sys.executable, "-m", "vyr", "--home", str(home), "daemon", *args]
    process = subprocess.Popen(
        [*wrapper, *(command or vyr)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=detached,
        preexec_fn=die_with_parent if detached else None,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    logged: list[str] = []

    def pump() -> None:
        # Always drained, so a chatty server never blocks on a full pipe.
        assert process.stderr is not None
        with open(log, "a") if log is not None else contextlib.nullcontext() as copy:
            for line in process.stderr:
                logged.append(line)
                lines.put(line)
                if copy is not None:
                    copy.write(line)
                    copy.flush()
        lines.put(None)

    reader = threading.Thread(target=pump, name="daemon-stderr", daemon=True)
    reader.start()
    addresses: list[str] = []
    while len(addresses) < expect_listeners:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            Daemon(process, home, [], logged, reader).kill()
            message = f"daemon did not report listening within {START_TIMEOUT_S:.0f} s"
            raise DaemonFailed(message, "".join(logged)) from None
        if line is None:
            Daemon(process, home, [], logged, reader).kill()
            raise DaemonFailed(f"daemon exited with {process.returncode}", "".join(logged))
        if "listening on " in line:
            addresses.append(line.split("listening on ", 1)[1].strip())
    return Daemon(process, home, addresses, logged, reader)


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when the parent dies (even by SIGKILL), so no daemon or
    receiver outlives it. Survives the exec of taskset / ip netns exec / python."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
