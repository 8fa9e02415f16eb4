"""Issue 13 item 8: temp files a kill -9 leaves in the home are removed at the next start.

A write killed half-way leaves `blobs/sha256/.<hex>.<pid>.<thread>.tmp` (blob store) or
`cache/compiled/<engine>/.write-<pid>-<random>` (compiled cache, via `fsutil::write_atomic`);
they used to stay for good. Now the blob store and the engine remove, when they open, those
whose writer process is gone (or that are a minute older than the start). The leftovers are
planted with the names those writers use and the pid of a process that no longer exists, as a
kill -9 leaves them. The artifact store's
`.put-*` directories are already removed at start: kept as the control.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed, sign_guests


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def used_home(tmp_path: Path, daemons: list[Daemon]) -> tuple[Path, Signed]:
    """A daemon home that has stored and run `hello` (blob store and compiled cache in use)."""
    from vyr.client import Client

    signed = sign_guests(tmp_path, ("hello",))
    home = tmp_path / "home"
    daemon = start_daemon(home)
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("hello")).digest
        assert client.run(digest, b"x" * 1000).status == "succeeded"
    assert daemon.terminate() == 0
    assert list(home.glob("cache/compiled/*/*.cwasm")), "the compiled cache was not written"
    return home, signed


def _plant(home: Path) -> dict[str, Path]:
    pid = _dead_pid()
    (cache_dir,) = home.glob("cache/compiled/*/")
    leftovers = {
        "blob": home / "blobs" / "sha256" / f".{'ab' * 32}.{pid}.139872312.tmp",
        "compiled cache": cache_dir / f".write-{pid}-0123456789abcdef",
        "artifact put": home / "artifacts" / f".put-{pid}-0123456789abcdef" / "module.wasm",
    }
    for path in leftovers.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half-written" * 100)
    return leftovers


def test_daemon_start_removes_temp_files_a_kill_left(
    used_home: tuple[Path, Signed], daemons: list[Daemon]
) -> None:
    home, _ = used_home
    leftovers = _plant(home)
    daemon = start_daemon(home)
    daemons.append(daemon)
    left = sorted(what for what, path in leftovers.items() if path.exists())
    assert daemon.terminate() == 0
    assert left == [], f"still there after a restart: {left}"


def test_embedded_start_removes_compiled_cache_temp_files(used_home: tuple[Path, Signed]) -> None:
    from vyr.runtime import Runtime

    home, _ = used_home
    leftover = _plant(home)["compiled cache"]
    Runtime(home, state_dir=str(home.parent / "states")).close()
    assert not leftover.exists()


def test_artifact_put_leftovers_are_removed_at_start(used_home: tuple[Path, Signed]) -> None:
    """The control: the artifact store already removes its crashed puts."""
    from vyr.runtime import Runtime

    home, _ = used_home
    leftover = _plant(home)["artifact put"]
    Runtime(home, state_dir=str(home.parent / "states")).close()
    assert not leftover.parent.exists()
