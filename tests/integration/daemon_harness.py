"""Starts a real `vyr daemon` as a subprocess for the integration tests (see conftest.py)."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "workloads" / "build"
START_TIMEOUT_S = 20.0


@dataclass
class Signed:
    """Signed copies of the reference guests and the key that signed them."""

    directory: Path
    key: Path
    public_key: str

    def module(self, name: str) -> Path:
        return self.directory / f"{name}.wasm"


def sign_guests(directory: Path, names: tuple[str, ...]) -> Signed:
    """Copies the built guests `names` into `directory` and signs them with a fresh key
    (skips the test when one is not built)."""
    import pytest
    from vyr.keys import generate_key, sign_module

    key, public = generate_key(directory / "dev.key")
    for name in names:
        source = BUILD / f"{name}.wasm"
        if not source.exists():
            pytest.skip(f"{source} is not built (make workloads/build/.stamp)")
        shutil.copy(source, directory / source.name)
        sign_module(directory / source.name, key)
    return Signed(directory, key, public.read_text())


@dataclass
class Daemon:
    """A `vyr daemon` subprocess and the addresses it reported."""

    process: subprocess.Popen[str]
    home: Path
    addresses: list[str]
    log: list[str] = field(default_factory=list)
    pump: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return self.addresses[0]

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reap()
        return code

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM; SIGKILL if it has not exited after `timeout` s."""
        try:
            self.terminate(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL (no drain)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reap()

    @property
    def stderr(self) -> str:
        return "".join(self.log)

    def _reap(self) -> None:
        if self.pump is not None:
            self.pump.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def start_daemon(
    home: Path, *args: str, expect_listeners: int = 1, command: list[str] | None = None
) -> Daemon:
    """Starts `python -m vyr --home HOME daemon ARGS...` (or `command`, which must log the same
    `listening on` lines) and waits for its `listening on` lines.

    Raises `DaemonFailed` (with its stderr) when it exits first.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("VYR_ENDPOINT", None)
    process = subprocess.Popen(
        command or [sys.executable, "-m", "vyr", "--home", str(home), "daemon", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    addresses: list[str] = []
    while len(addresses) < expect_listeners:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            Daemon(process, home, [], log, reader).kill()
            raise DaemonFailed("daemon did not report listening in time", "".join(log)) from None
        if line is None:
            Daemon(process, home, [], log, reader).kill()
            raise DaemonFailed(f"daemon exited with {process.returncode}", "".join(log))
        if "listening on " in line:
            addresses.append(line.split("listening on ", 1)[1].strip())
    return Daemon(process, home, addresses, log, reader)


class DaemonFailed(Exception):
    """The daemon did not start."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(f"{message}\n{stderr}")
        self.stderr = stderr
