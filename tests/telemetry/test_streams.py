"""`stream_traces` / `stream_metrics`: filters, resume after a disconnect, gap markers, and a
stuck subscriber that must not slow tasks (asserted on counts, not timings)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from vyr.telemetry.hub import Gap
from vyr.types import Resources

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed


def _tasks(items: list[Any]) -> list[str]:
    """Task ids in stream order (one per root span)."""
    return [s.task_id for s in items if not isinstance(s, Gap) and s.name == "vyr.submit"]


@pytest.fixture
def small_history_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, daemons: list[Daemon], signed: Signed
) -> tuple[Any, str]:
    from vyr.client import Client

    monkeypatch.setenv("VYR_TRACE_HISTORY", "4")
    daemon = start_daemon(tmp_path / "home")
    daemons.append(daemon)
    client = Client(daemon.endpoint)
    client.trust_add(signed.public_key)
    return client, client.put_module_file(signed.module("hello")).digest


def test_stream_resumes_after_disconnect_and_marks_overrun_history(
    small_history_daemon: tuple[Any, str],
) -> None:
    client, digest = small_history_daemon
    first = [client.run(digest, b"hi").id for _ in range(2)]

    # A live reader that disconnects after the first task's spans.
    stop = threading.Event()
    seen: list[Any] = []
    stream = client.stream_traces(after=0, stop=stop)
    for item in stream:
        seen.append(item)
        if len(_tasks(seen)) == 2 and len(seen) == 10:
            break
    stream.close()
    assert _tasks(seen) == first
    cursor = seen[-1].cursor

    missed = [client.run(digest, b"hi").id for _ in range(2)]
    resumed = list(client.stream_traces(after=cursor, follow=False))
    assert _tasks(resumed) == missed and not any(isinstance(i, Gap) for i in resumed)

    # Three more: the history (4 tasks) no longer holds the task right after `cursor`.
    later = [client.run(digest, b"hi").id for _ in range(3)]
    overrun = list(client.stream_traces(after=cursor, follow=False))
    assert isinstance(overrun[0], Gap) and (overrun[0].missed, overrun[0].reason) == (
        1,
        "history_overrun",
    )
    assert _tasks(overrun) == missed[1:] + later


def test_filters_by_task_status_span_and_artifact(node: Any, put_guest: Any) -> None:
    node.telemetry()
    digest = put_guest("hello")
    good = node.run(digest, b"hi")
    trapped = node.run(digest, b"hi", resources=Resources(fuel=1))
    node.telemetry().flush()
    assert _tasks(list(node.stream_traces(task_ids=[good.id], follow=False))) == [good.id]
    assert _tasks(list(node.stream_traces(statuses=["trapped"], follow=False))) == [trapped.id]
    assert not list(node.stream_traces(artifact_digest="sha256:" + "0" * 64, follow=False))
    executes = list(node.stream_traces(span_names=["vyr.execute"], follow=False))
    assert [s.name for s in executes] == ["vyr.execute", "vyr.execute"]
    assert [s.status for s in executes] == ["unset", "error"]


def test_stuck_subscriber_does_not_slow_tasks(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VYR_STREAM_QUEUE", "5")
    observer = node.telemetry()
    digest = put_guest("hello")
    stop, release, got_first = threading.Event(), threading.Event(), threading.Event()
    received: list[Any] = []

    def stuck_reader() -> None:
        for item in node.stream_traces(after=None, stop=stop):
            received.append(item)
            if not got_first.is_set():
                got_first.set()
                release.wait(60)  # stuck: reads nothing more until released

    reader = threading.Thread(target=stuck_reader)
    reader.start()
    node.run(digest, b"hi")
    assert got_first.wait(10)
    tasks = [node.submit_task(digest, b"hi") for _ in range(300)]
    results = [task.wait(30) for task in tasks]
    assert all(r.ok for r in results)  # every task ran to the end while the reader was stuck
    observer.flush()
    release.set()
    while observer.traces.subscribers and not _done(received, 301):
        reader.join(0.05)
    stop.set()
    reader.join(10)
    gaps = [i for i in received if isinstance(i, Gap)]
    assert gaps and all(g.reason == "queue_full" for g in gaps)
    # Exact accounting: every task was either delivered or reported missing to this reader.
    assert len(set(_tasks(received))) + sum(g.missed for g in gaps) == 301
    assert observer.traces.subscriber_drops == sum(g.missed for g in gaps)


def _done(received: list[Any], total: int) -> bool:
    gaps = sum(i.missed for i in received if isinstance(i, Gap))
    return len(set(_tasks(received))) + gaps >= total


def test_metrics_stream(node: Any, put_guest: Any) -> None:
    node.telemetry()
    digest = put_guest("hello")
    for _ in range(3):
        node.run(digest, b"hi")
    node.telemetry().flush()
    points = {
        (p.name, tuple(sorted(p.attributes.items()))): p for p in node.stream_metrics(follow=False)
    }
    assert points[("vyr.task.submitted", ())].value == 3
    assert points[("vyr.task.finished", (("vyr.task.status", "succeeded"),))].value == 3
    assert points[("vyr.task.duration", ())].count == 3
    stop = threading.Event()
    live = node.stream_metrics(["vyr.task.finished"], after=0, stop=stop)
    first = next(live)  # a snapshot the node took (every VYR_METRICS_SNAPSHOT_MS)
    stop.set()
    live.close()
    assert first.name == "vyr.task.finished" and first.cursor >= 1


def test_cli_traces_and_metrics_json_against_a_daemon(
    tmp_path: Path, daemons: list[Daemon], signed: Signed
) -> None:
    from vyr.client import Client

    daemon = start_daemon(tmp_path / "home")
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("hello")).digest
        task = client.run(digest, b"hi")
        client.run(digest, b"other")

    def vyr(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "vyr", "--endpoint", daemon.endpoint, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines()]

    spans = vyr("traces", "--task", task.id, "--json")
    assert {s["name"] for s in spans} == {
        "vyr.submit",
        "vyr.artifact.load",
        "vyr.instantiate",
        "vyr.execute",
        "vyr.complete",
    }
    required = {
        "name",
        "trace_id",
        "span_id",
        "parent_span_id",
        "start_time_unix_nano",
        "end_time_unix_nano",
        "attributes",
    }
    assert all(required <= set(s) and s["task_id"] == task.id for s in spans)
    root = next(s for s in spans if s["name"] == "vyr.submit")
    assert all(s["parent_span_id"] == root["span_id"] for s in spans if s is not root)
    assert root["attributes"]["vyr.task.exit_code"] == 0
    names = {p["name"] for p in vyr("metrics", "--json")}
    assert {"vyr.task.finished", "vyr.task.duration", "vyr.task.queued"} <= names
