"""The observation streams over the daemon's Control API (the content is tested in tests/telemetry)."""

from __future__ import annotations

import threading

from vyr.api.v0 import control_pb2 as pb


def test_stream_metrics_sends_points(client) -> None:
    stream = client._stub.StreamMetrics(
        pb.MetricFilter(names=["vyr.task.running"], interval_ms=50), timeout=10
    )
    first = next(stream)
    stream.cancel()
    assert (first.name, first.value, first.kind) == ("vyr.task.running", 0.0, "updowncounter")


def test_stream_traces_sends_spans_of_ended_tasks(client, signed) -> None:
    digest = client.put_module_file(signed.module("hello")).digest
    before = client.run(digest, b"replayed")
    stream = client._stub.StreamTraces(pb.TraceFilter(include_finished=True), timeout=20)
    spans = []
    seen_live = threading.Event()

    def read() -> None:
        for span in stream:
            spans.append(span)
            if span.name == "vyr.submit" and span.attributes["vyr.task.id"] != before.id:
                seen_live.set()
                return

    reader = threading.Thread(target=read)
    reader.start()
    while not any(s.name == "vyr.submit" for s in spans):  # the replay arrives first
        reader.join(0.01)
    later = client.run(digest, b"live")
    assert seen_live.wait(10)
    stream.cancel()
    reader.join(10)
    roots = {s.attributes["vyr.task.id"]: s for s in spans if s.name == "vyr.submit"}
    assert set(roots) == {before.id, later.id}
    assert roots[later.id].end_unix_nanos >= roots[later.id].start_unix_nanos > 0
    assert {"vyr.artifact.load", "vyr.instantiate", "vyr.execute", "vyr.complete"} <= {
        s.name for s in spans
    }
