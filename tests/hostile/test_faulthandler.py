"""Issue 13 item 1: a guest trap must not kill the host when Python's `faulthandler` was
enabled after the node existed (its SIGSEGV/SIGILL handler then sits in front of wasmtime's).

Both forms run in a child process, since the failure is the death of the process: the embedded
runtime (a script that opens a node, enables faulthandler, runs a trapping guest twice) and the
daemon (started through a launcher that enables faulthandler right after the node is made).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness.daemon import Daemon, start_daemon

TRAPS = {"trap_unreachable": "unreachable_code_reached", "stack_overflow": "stack_overflow"}

EMBEDDED = """
import faulthandler, sys
from vyr.runtime import Runtime
when, home, state_dir, public_key, *modules = sys.argv[1:]
if when == "before":
    faulthandler.enable()  # as pytest or `python -X faulthandler` do: wasmtime's chain to it
node = Runtime(home, state_dir=state_dir)
node.trust_add(open(public_key).read())
if when == "after":
    faulthandler.enable()  # after the node: its handlers now run before wasmtime's
for module in modules:
    digest = node.put_module_file(module).digest
    for _ in range(2):
        result = node.run(digest)
        print(result.status, result.trap_code, flush=True)
node.close()
"""

# `python -c LAUNCHER --home HOME daemon ...`: the CLI, with faulthandler enabled as soon as the
# daemon's runtime exists (what a service framework that enables it at start-up amounts to).
DAEMON_LAUNCHER = """
import faulthandler, sys
import vyr.runtime
opened = vyr.runtime.Runtime.__init__
def open_then_enable(self, *args, **kwargs):
    opened(self, *args, **kwargs)
    faulthandler.enable()
vyr.runtime.Runtime.__init__ = open_then_enable
from vyr.cli import main
sys.argv[0] = "vyr"
main()
"""


def _run_embedded(
    when: str, tmp_path: Path, key: Path, guests: dict[str, Path], sign: Callable[[Path], Path]
) -> None:
    modules = [str(sign(guests[name])) for name in TRAPS]
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            EMBEDDED,
            when,
            str(tmp_path / "home"),
            str(tmp_path / "states"),
            f"{key}.pub",
            *modules,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, f"host died ({child.returncode}):\n{child.stderr[-2000:]}"
    expected = [f"trapped {code}" for code in TRAPS.values() for _ in range(2)]
    assert child.stdout.split("\n")[:-1] == expected


def test_embedded_trap_is_a_trap_with_faulthandler_enabled_before_the_node(
    tmp_path: Path, key: Path, hostile_guests: dict[str, Path], sign_copy: Callable[[Path], Path]
) -> None:
    _run_embedded("before", tmp_path, key, hostile_guests, sign_copy)


def test_embedded_trap_survives_faulthandler_enabled_after_the_node(
    tmp_path: Path, key: Path, hostile_guests: dict[str, Path], sign_copy: Callable[[Path], Path]
) -> None:
    _run_embedded("after", tmp_path, key, hostile_guests, sign_copy)


def test_daemon_trap_survives_faulthandler_enabled_after_the_node(
    tmp_path: Path,
    key: Path,
    hostile_guests: dict[str, Path],
    sign_copy: Callable[[Path], Path],
    daemons: list[Daemon],
) -> None:
    from vyr.client import Client

    home = tmp_path / "home"
    daemon = start_daemon(
        home, command=[sys.executable, "-c", DAEMON_LAUNCHER, "--home", str(home), "daemon"]
    )
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        client.trust_add(Path(f"{key}.pub").read_text())
        for name, code in TRAPS.items():
            digest = client.put_module_file(sign_copy(hostile_guests[name])).digest
            for _ in range(2):
                result = client.run(digest)
                assert (result.status, result.trap_code) == ("trapped", code)
    assert daemon.process.poll() is None, daemon.stderr
    assert daemon.terminate() == 0, daemon.stderr
