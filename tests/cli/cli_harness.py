"""The CLI tests' helpers: a fresh HOME as a new user has it, the installed `vyr` command
run in a subprocess, and a real `vyr daemon` started the way the README says (no --home: it
finds its socket from HOME or VYR_HOME)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.daemon import Daemon, start_daemon

REPO = Path(__file__).resolve().parents[2]
# Variables that would point a command at some other node than the fresh HOME's.
_FOREIGN = ("VYR_HOME", "VYR_ENDPOINT", "XDG_DATA_HOME", "VYR_TOKEN_FILE", "VYR_CA_FILE")


@dataclass
class Shell:
    """Runs `vyr` (and shell lines) with HOME = `home`, in the working directory `cwd`."""

    home: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def node_home(self) -> Path:
        """Where the node lives: $VYR_HOME, else the default under HOME."""
        return Path(self.env.get("VYR_HOME") or self.home / ".local" / "share" / "vyr")

    def vyr(self, *args: str, stdin: bytes | None = b"") -> subprocess.CompletedProcess[str]:
        """`vyr ARGS...`; stdin: bytes to pipe in, or None for no stdin at all (/dev/null)."""
        return subprocess.run(
            [vyr_command(), *args],
            input=stdin.decode() if stdin is not None else None,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=120,
        )

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        """Runs `script` with bash -e (stdin not a terminal, as in CI)."""
        return subprocess.run(
            ["bash", "-e", "-c", script],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    def start_daemon(self) -> Daemon:
        """`vyr daemon` exactly as the README runs it (no flags), in this environment."""
        with pytest.MonkeyPatch.context() as patch:
            # The harness launches with os.environ: make it this shell's for the launch.
            for name in list(os.environ):
                if name not in self.env:
                    patch.delenv(name)
            for name, value in self.env.items():
                patch.setenv(name, value)
            return start_daemon(self.node_home, command=[vyr_command(), "daemon"])


def vyr_command() -> str:
    """The installed `vyr` console script next to this interpreter."""
    script = Path(sys.executable).with_name("vyr")
    if not script.exists():
        pytest.fail(f"{script} is missing: install the package (make build) first")
    return str(script)


def make_shell(tmp_path: Path) -> Shell:
    """A fresh HOME under tmp_path, the built hello guest copied to workloads/build/ of a
    scratch working directory (never signed next to the shared build), and the venv that runs
    these tests as `.venv` there, so the README's `source .venv/bin/activate` works verbatim."""
    home, cwd = tmp_path / "home", tmp_path / "clone"
    home.mkdir()
    (cwd / "workloads" / "build").mkdir(parents=True)
    built = REPO / "workloads" / "build" / "hello.wasm"
    if not built.exists():
        subprocess.run([sys.executable, str(REPO / "workloads" / "build.py")], check=True)
    shutil.copy(built, cwd / "workloads" / "build" / "hello.wasm")
    (cwd / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    # `vyr` on PATH as after `source .venv/bin/activate`, for lines run without it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.update(HOME=str(home), NO_COLOR="1", PATH=path)
    return Shell(home, cwd, env)


def keyed(shell: Shell) -> Path:
    """Makes ~/.vyr/dev.key, trusts it and signs the scratch hello.wasm; returns the module."""
    module = shell.cwd / "workloads" / "build" / "hello.wasm"
    done = shell.sh(
        "vyr keygen ~/.vyr/dev.key && vyr trust add ~/.vyr/dev.key.pub"
        f" && vyr sign {module} --key ~/.vyr/dev.key"
    )
    assert done.returncode == 0, done.stderr
    return module


def signed_guest(shell: Shell, name: str) -> str:
    """Copies the built reference guest `name` into the scratch clone and signs it with the
    key `keyed` made; returns the module's path."""
    module = shell.cwd / "workloads" / "build" / f"{name}.wasm"
    shutil.copy(REPO / "workloads" / "build" / f"{name}.wasm", module)
    signed = shell.sh(f"vyr sign {module} --key ~/.vyr/dev.key")
    assert signed.returncode == 0, signed.stderr
    return str(module)
