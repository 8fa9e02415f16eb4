"""SIGTERM drain and restart after kill -9: every accepted task ends up finished or failed."""

from __future__ import annotations

import time

import pytest
from vyr.client import Client
from vyr.errors import IdempotencyConflict

from harness.daemon import Daemon, start_daemon

FOREVER = ["--count", "2000000000", "--window", "4096"]  # minutes of CPU: only a cancel ends it
SHORT = ["--count", "2000000", "--window", "256"]  # about half a second on an idle core


def _wait_running(client: Client, task_id: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.task(task_id).status == "queued":
        assert time.monotonic() < deadline, f"{task_id} never started"
        time.sleep(0.01)


def _prepared(daemon: Daemon, signed) -> tuple[Client, str]:
    client = Client(daemon.endpoint)
    client.trust_add(signed.public_key)
    return client, client.put_module_file(signed.module("anomaly")).digest


def test_sigterm_drains_then_exits_zero(tmp_path, daemons, signed) -> None:
    home = tmp_path / "home"
    # The grace must outlast SHORT even on a loaded machine (it ran 1.55 s at load 9).
    daemon = start_daemon(home, "--grace", "5")
    daemons.append(daemon)
    client, digest = _prepared(daemon, signed)
    with client:
        short = client.submit_task(digest, args=SHORT)
        forever = client.submit_task(digest, args=FOREVER)
        _wait_running(client, short.id)
        _wait_running(client, forever.id)
    started = time.monotonic()
    assert daemon.terminate() == 0, daemon.stderr
    assert time.monotonic() - started < 15
    assert "Traceback" not in daemon.stderr
    assert not (home / "vyr.sock").exists()

    again = start_daemon(home)
    daemons.append(again)
    with Client(again.endpoint) as client:
        finished = client.task(short.id).result()
        assert finished.status == "succeeded", finished
        assert finished.stdout.startswith(b'{"source":"synthetic"')  # output readable after restart
        assert client.task(forever.id).result().status == "cancelled"
        assert all(t.done for t in client.list_tasks())


def test_restart_after_kill_marks_unfinished_tasks(tmp_path, daemons, signed) -> None:
    home = tmp_path / "home"
    daemon = start_daemon(home)
    daemons.append(daemon)
    client, digest = _prepared(daemon, signed)
    with client:
        hello = client.put_module_file(signed.module("hello")).digest
        done = client.submit_task(hello, b"kept", idempotency_key="before-crash")
        assert done.wait(30).status == "succeeded"
        running = client.submit_task(digest, args=FOREVER)
        _wait_running(client, running.id)
    daemon.kill()

    again = start_daemon(home)
    daemons.append(again)
    assert "node_restarted" in again.stderr
    with Client(again.endpoint) as client:
        lost = client.task(running.id).result()
        assert (lost.status, lost.reason) == ("failed", "node_restarted")
        assert client.task(done.id).result().stdout == b"KEPT"
        # the key still names the first task, which never runs again
        assert client.submit_task(hello, b"kept", idempotency_key="before-crash").id == done.id
        with pytest.raises(IdempotencyConflict):  # and still refuses another request (13.5)
            client.submit_task(hello, b"other", idempotency_key="before-crash")
        # artifacts and trust survived: the stored artifact runs without a new put or trust
        assert hello in {a.digest for a in client.list_artifacts()}
        assert client.run(hello, b"after").stdout == b"AFTER"
