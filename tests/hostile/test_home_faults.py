"""Fault injection on the node home (issue 13, "Keep the probes"): unreadable files and a corrupt
journal must give a clear error (`error: ...`, exit non-zero) or be recovered from; never a hang
or a Python traceback.

We run as root, whom mode bits do not stop: the commands and daemons here run without
CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (`hostile.faults.drop_file_permission_override`), so a
mode-000 file is as unreadable to them as to any other user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.daemon import Daemon, DaemonFailed, start_daemon
from harness.guests import Signed, sign_guests
from hostile.faults import drop_file_permission_override

COMMAND_LIMIT_S = 30
# Runs `python -m vyr ARGS...` without root's permission override (for start_daemon's command).
LAUNCHER = (
    "import os, sys\n"
    "from hostile.faults import drop_file_permission_override\n"
    "drop_file_permission_override()\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'vyr', *sys.argv[1:]])\n"
)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def populated_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A daemon home that trusts a key, stores `hello`, has run it (journal, blobs, compiled
    cache all written) and was stopped cleanly; and hello's digest."""
    from vyr.client import Client

    base = tmp_path_factory.mktemp("faults")
    signed: Signed = sign_guests(base, ("hello",))
    home = base / "home"
    daemon = start_daemon(home)
    try:
        with Client(daemon.endpoint) as client:
            client.trust_add(signed.public_key)
            digest = client.put_module_file(signed.module("hello")).digest
            assert client.run(digest, b"x").stdout == b"X"
    finally:
        daemon.stop()
    assert list((home / "cache" / "compiled").rglob("*.cwasm")), "no compiled cache written"
    return home, digest


def _damaged(
    populated: tuple[Path, str], tmp_path: Path, damage: Callable[[Path, str], None]
) -> Path:
    source, digest = populated
    home = tmp_path / "home"
    shutil.copytree(source, home)
    damage(home, digest.removeprefix("sha256:"))
    return home


def _chmod_000(relative: str) -> Callable[[Path, str], None]:
    def damage(home: Path, hex_digest: str) -> None:
        for path in home.glob(relative.replace("HEX", hex_digest)):
            os.chmod(path, 0)

    return damage


def _garbage_journal(home: Path, _: str) -> None:
    (home / "journal.db").write_bytes(bytes(range(256)) * 64)


def _truncated_journal(home: Path, _: str) -> None:
    journal = home / "journal.db"
    journal.write_bytes(journal.read_bytes()[:3000])


UNREADABLE = {
    "manifest": _chmod_000("artifacts/HEX/manifest.json"),
    "module": _chmod_000("artifacts/HEX/module.wasm"),
    "artifact directory": _chmod_000("artifacts/HEX"),
    "trusted key": _chmod_000("trust/*.pub"),
    "compiled cache file": _chmod_000("cache/compiled/*/*.cwasm"),
    "compiled cache directory": _chmod_000("cache"),
    "blob store": _chmod_000("blobs/sha256"),
}
CORRUPT_JOURNAL = {"garbage journal": _garbage_journal, "truncated journal": _truncated_journal}


def _assert_clear(returncode: int, stderr: str, what: str) -> None:
    assert "Traceback" not in stderr, f"{what}: a traceback\n{stderr[-3000:]}"
    if returncode != 0:
        assert "error: " in stderr, f"{what}: exit {returncode} without an error line\n{stderr}"


@pytest.mark.parametrize("fault", sorted(UNREADABLE))
@pytest.mark.parametrize(
    "command", [["artifact", "ls"], ["trust", "ls"], ["run", "DIGEST", "--input", "-"]]
)
def test_embedded_commands_on_an_unreadable_home_fail_clearly(
    populated_home: tuple[Path, str], tmp_path: Path, fault: str, command: list[str]
) -> None:
    home = _damaged(populated_home, tmp_path, UNREADABLE[fault])
    argv = [part.replace("DIGEST", populated_home[1]) for part in command]
    child = subprocess.run(
        [sys.executable, "-m", "vyr", "--home", str(home), *argv],
        input="probe",
        capture_output=True,
        text=True,
        timeout=COMMAND_LIMIT_S,
        check=False,
        preexec_fn=drop_file_permission_override,
    )
    _assert_clear(
        child.returncode, child.stderr, f"vyr {' '.join(argv)} with an unreadable {fault}"
    )


def _daemon_copes(home: Path, digest: str, daemons: list[Daemon], what: str) -> None:
    """The daemon either refuses to start with a clear error, or starts and answers every call
    (a result or a VyrError) and still stops on SIGTERM; no traceback either way."""
    from vyr.client import Client
    from vyr.errors import VyrError

    command = [sys.executable, "-c", LAUNCHER, "--home", str(home), "daemon"]
    try:
        daemon = start_daemon(home, command=command)
    except DaemonFailed as failed:
        _assert_clear(1, failed.stderr, f"daemon start with a {what}")
        return
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        for call in (client.list_artifacts, client.list_tasks, lambda: client.run(digest, b"p")):
            try:
                call()
            except VyrError as error:
                assert type(error).__name__ != "VyrError", f"{what}: unclassified error {error!r}"
    assert daemon.terminate(15) == 0, daemon.stderr
    _assert_clear(0, daemon.stderr, f"daemon with a {what}")


@pytest.mark.parametrize("fault", sorted(UNREADABLE))
def test_daemon_on_an_unreadable_home_fails_clearly_or_copes(
    populated_home: tuple[Path, str], tmp_path: Path, fault: str, daemons: list[Daemon]
) -> None:
    home = _damaged(populated_home, tmp_path, UNREADABLE[fault])
    _daemon_copes(home, populated_home[1], daemons, f"unreadable {fault}")


@pytest.mark.xfail(
    strict=True, reason="issue 13 fault injection: an unreadable journal gives a traceback at start"
)
def test_daemon_with_an_unreadable_journal_fails_clearly(
    populated_home: tuple[Path, str], tmp_path: Path, daemons: list[Daemon]
) -> None:
    home = _damaged(populated_home, tmp_path, _chmod_000("journal.db"))
    _daemon_copes(home, populated_home[1], daemons, "unreadable journal")


@pytest.mark.xfail(
    strict=True, reason="issue 13 fault injection: a corrupt journal gives a traceback at start"
)
@pytest.mark.parametrize("fault", sorted(CORRUPT_JOURNAL))
def test_daemon_with_a_corrupt_journal_fails_clearly_or_recovers(
    populated_home: tuple[Path, str], tmp_path: Path, fault: str, daemons: list[Daemon]
) -> None:
    home = _damaged(populated_home, tmp_path, CORRUPT_JOURNAL[fault])
    _daemon_copes(home, populated_home[1], daemons, fault)
