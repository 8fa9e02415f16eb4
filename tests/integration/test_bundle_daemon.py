"""`vyr artifact import` against a real daemon: the daemon re-verifies every bundled artifact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vyr.bundle import export_bundle
from vyr.runtime import Runtime

from harness.daemon import Daemon
from harness.guests import Signed


def test_import_bundle_into_a_daemon(
    tmp_path: Path, daemon: Daemon, client, signed: Signed
) -> None:  # type: ignore[no-untyped-def]
    with Runtime(tmp_path / "source") as source:
        source.trust_add(signed.public_key)
        digest = source.put_module_file(signed.module("hello")).digest
        export_bundle(source, [digest], tmp_path / "b.vyrbundle")
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "vyr",
            "--endpoint",
            daemon.endpoint,
            "artifact",
            "import",
            str(tmp_path / "b.vyrbundle"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == digest
    assert client.run(digest, b"bundled").stdout == b"BUNDLED"
