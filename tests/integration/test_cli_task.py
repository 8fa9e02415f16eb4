"""`vyr task ...` and `vyr run` against a daemon, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _vyr(daemon, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "VYR_ENDPOINT": daemon.endpoint}
    return subprocess.run(
        [sys.executable, "-m", "vyr", *args], input=stdin, capture_output=True, env=env, timeout=60
    )


def test_task_submit_wait_show_ls_cancel(client, daemon, signed) -> None:
    module = str(signed.module("hello"))
    submitted = _vyr(
        daemon,
        "task",
        "submit",
        module,
        "--input",
        "-",
        "--idempotency-key",
        "cli-1",
        "--",
        "5",
        stdin=b"cli",
    )
    assert submitted.returncode == 0, submitted.stderr
    task_id = submitted.stdout.decode().strip()
    assert task_id.startswith("t-")
    again = _vyr(
        daemon, "task", "submit", module, "--input", "-", "--idempotency-key", "cli-1", "--", "5",
        stdin=b"cli",
    )  # fmt: skip
    assert again.stdout.decode().strip() == task_id
    other = _vyr(daemon, "task", "submit", module, "--idempotency-key", "cli-1")
    assert other.returncode != 0 and b"different request" in other.stderr, other.stderr

    waited = _vyr(daemon, "task", "wait", task_id)
    assert (waited.returncode, waited.stdout) == (5, b"CLI")

    shown = _vyr(daemon, "task", "show", task_id, "--json")
    data = json.loads(shown.stdout)
    assert (data["id"], data["status"], data["exit_code"], data["reason"]) == (
        task_id,
        "failed",
        5,
        "exited with code 5",
    )

    listed = json.loads(_vyr(daemon, "task", "ls", "--json").stdout)
    assert [t["id"] for t in listed] == [task_id]

    cancelled = _vyr(daemon, "task", "cancel", task_id)
    assert cancelled.returncode == 0 and b"already ended" in cancelled.stderr


def test_run_and_errors_over_the_daemon(client, daemon, signed) -> None:
    ran = _vyr(daemon, "run", str(signed.module("hello")), "--input", "-", stdin=b"remote")
    assert (ran.returncode, ran.stdout) == (0, b"REMOTE")
    missing = _vyr(daemon, "task", "show", "t-missing")
    assert missing.returncode == 1
    assert missing.stderr.startswith(b"error: ") and b"Traceback" not in missing.stderr
