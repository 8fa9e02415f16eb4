"""Issue 13 item 3: a full disk gives clear errors and the daemon recovers once space returns.

The node home is an 8 MiB tmpfs. With it full, every write path a client can reach (a task's
journal row and output blobs, an uploaded input, an artifact put) must answer with an error
that says the disk is full (or a task that ended saying so) instead of hanging; once the filler
is removed the same daemon must serve tasks again by itself, leave no task `queued`/`running`
and no temp file behind, and still stop on SIGTERM. Today the journal thread dies on ENOSPC and
every later call hangs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed, sign_guests
from hostile.faults import fill_up, small_tmpfs

CALL_LIMIT_S = 10.0  # a call that has not answered by then is a hang
RECOVERY_S = 15.0
FULL_WORDS = ("space", "full", "enospc")


@pytest.fixture
def tmpfs_home(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "home", "8m") as home:
        yield home


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("disk-full-guests"), ("hello",))


def bounded(call: Callable[[], Any], what: str, limit_s: float = CALL_LIMIT_S) -> Any:
    """Runs `call` on a thread; fails the test if it has not returned after `limit_s`.
    Returns its result, or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:  # the caller inspects what was raised
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert outcome, f"{what}: no answer after {limit_s} s (hung)"
    return outcome[0]


def says_disk_full(outcome: Any) -> bool:
    from vyr.errors import VyrError

    if isinstance(outcome, VyrError):
        return any(word in str(outcome).lower() for word in FULL_WORDS)
    text = f"{outcome.status} {outcome.reason}".lower()
    return outcome.status != "succeeded" and any(word in text for word in FULL_WORDS)


def _variant(signed: Signed, directory: Path) -> Path:
    """hello.wasm plus a custom section: a new artifact to put while the disk is full."""
    from vyr.keys import sign_module

    directory.mkdir(exist_ok=True)
    body = b"\x0bvyr-hostile" + b"\x01" * 300_000
    size = len(body)
    leb = bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        leb.append(byte | (0x80 if size else 0))
        if not size:
            break
    module = directory / "hello-variant.wasm"
    module.write_bytes(signed.module("hello").read_bytes() + b"\x00" + bytes(leb) + body)
    sign_module(module, signed.key)
    return module


@pytest.mark.xfail(strict=True, reason="issue 13 item 3: a full disk wedges the daemon for good")
def test_full_disk_gives_clear_errors_and_the_daemon_recovers(
    tmpfs_home: Path, tmp_path: Path, signed: Signed, daemons: list[Daemon]
) -> None:
    from vyr.client import Client

    daemon = start_daemon(tmpfs_home, "--grace", "0")
    daemons.append(daemon)
    variant = _variant(signed, tmp_path / "variant")
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        hello = client.put_module_file(signed.module("hello")).digest
        assert client.run(hello, b"before").stdout == b"BEFORE"

        filler = fill_up(tmpfs_home)
        attempts = {
            "run with a large input": lambda: client.run(hello, b"i" * 300_000),
            "run": lambda: client.run(hello, b"small"),
            "put_input": lambda: client.put_input(b"p" * 500_000),
            "put_artifact": lambda: client.put_module_file(variant),
            "submit + wait": lambda: client.submit_task(hello, b"queued").wait(10),
        }
        for what, call in attempts.items():
            outcome = bounded(call, f"{what} on a full disk")
            assert says_disk_full(outcome), f"{what} on a full disk: {outcome!r}"

        filler.unlink()
        give_up = time.monotonic() + RECOVERY_S
        while True:
            outcome = bounded(lambda: client.run(hello, b"after"), "run after space returned")
            if not isinstance(outcome, Exception) and outcome.stdout == b"AFTER":
                break
            assert time.monotonic() < give_up, f"no recovery after space returned: {outcome!r}"
            time.sleep(0.5)
        assert bounded(lambda: client.put_module_file(variant), "put after recovery").digest

    database = sqlite3.connect(f"file:{tmpfs_home / 'journal.db'}?mode=ro", uri=True)
    try:
        left = database.execute(
            "SELECT id, status FROM tasks WHERE status IN ('queued', 'running')"
        ).fetchall()
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        database.close()
    assert left == [], f"tasks left unfinished in the journal: {left}"
    leftovers = [str(p.relative_to(tmpfs_home)) for p in tmpfs_home.rglob(".*")]
    assert leftovers == [], f"temp files left behind: {leftovers}"
    assert daemon.terminate(15) == 0, daemon.stderr
    assert "Traceback" not in daemon.stderr, daemon.stderr
