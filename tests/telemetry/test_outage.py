"""The collector goes away and comes back: tasks keep running, memory stays bounded, every span
is either delivered or counted as dropped, export resumes by itself; with the spool, nothing
is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vyr.telemetry.config import Settings

from harness.otlp import GrpcReceiver, free_port

SPANS_PER_TASK = 5


def _down_env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "50")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")


def _run(node: Any, digest: str, count: int) -> list[Any]:
    tasks = [node.submit_task(digest, b"hi") for _ in range(count)]
    return [task.wait(30) for task in tasks]


def _outage_then_recovery(
    node: Any, digest: str, telemetry: Any, port: int
) -> tuple[GrpcReceiver, list[Any]]:
    observer = node.telemetry(telemetry)
    during = _run(node, digest, 200)
    assert all(r.ok for r in during)  # the outage does not stop or fail tasks
    observer.flush(timeout_s=1)
    processor = telemetry.processor
    assert len(processor._queue) <= processor.max_queue  # bounded memory
    receiver = GrpcReceiver(port).start()
    # Export resumes by itself: what was kept (queue or spool) goes out at the next probe.
    assert receiver.received.wait_for(lambda r: len(r.spans) > 0)
    after = []
    for _ in range(20):  # paced: within what the queue holds, so nothing may be dropped now
        after.append(node.run(digest, b"hi"))
        observer.flush(timeout_s=5)
    assert all(r.ok for r in after)
    return receiver, during + after


def test_collector_down_drops_are_counted_exactly_and_export_resumes(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vyr.telemetry.pipeline import Telemetry

    port = free_port()
    _down_env(monkeypatch, port)
    telemetry = Telemetry()
    try:
        receiver, results = _outage_then_recovery(node, put_guest("hello"), telemetry, port)
        try:
            processor = telemetry.processor
            total = SPANS_PER_TASK * len(results)
            last = {r.id for r in results[-20:]}
            dropped = processor.dropped_total()
            # Tasks after the link is back arrive, and nothing more is dropped.
            assert receiver.received.wait_for(
                lambda r: (
                    last
                    <= {
                        s["attributes"].get("vyr.task.id")
                        for s in r.spans
                        if s["name"] == "vyr.submit"
                    }
                )
            )
            node.telemetry().flush(timeout_s=5)
            assert processor.dropped_total() == dropped > 0
            assert processor.exported + processor.dropped_total() == total
            assert len(receiver.received.spans) == processor.exported
            points = {
                (p.name, tuple(p.attributes.items())): p.value
                for p in node.stream_metrics(follow=False)
            }
            assert (
                sum(v for (name, _), v in points.items() if name == "vyr.telemetry.span.dropped")
                == processor.dropped_total()
            )
        finally:
            receiver.stop()
    finally:
        telemetry.shutdown()


def test_spool_keeps_spans_across_the_outage(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vyr.telemetry.pipeline import Telemetry

    port = free_port()
    _down_env(monkeypatch, port)
    monkeypatch.setenv(
        "OTEL_BSP_MAX_QUEUE_SIZE", "2048"
    )  # the spool, not the queue, absorbs the outage
    monkeypatch.setenv("VYR_TELEMETRY_SPOOL_DIR", str(tmp_path / "spool"))
    telemetry = Telemetry(Settings.from_env())
    try:
        receiver, results = _outage_then_recovery(node, put_guest("hello"), telemetry, port)
        try:
            total = SPANS_PER_TASK * len(results)
            ids = {r.id for r in results}
            assert receiver.received.wait_for(
                lambda r: (
                    ids
                    <= {
                        s["attributes"].get("vyr.task.id")
                        for s in r.spans
                        if s["name"] == "vyr.submit"
                    }
                ),
                timeout=30,
            )
            processor = telemetry.processor
            assert processor.dropped_total() == 0
            assert receiver.received.wait_for(lambda r: len(r.spans) == total)
            assert processor.spool.spans == 0 and not list((tmp_path / "spool").glob("*.otlp"))
        finally:
            receiver.stop()
    finally:
        telemetry.shutdown()
