"""What the daemon and the embedded runtime export over OTLP, decoded by a real receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vyr.types import Resources

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed
from harness.otlp import GrpcReceiver, HttpReceiver

SPAN_NAMES = {"vyr.submit", "vyr.artifact.load", "vyr.instantiate", "vyr.execute", "vyr.complete"}
INTERNAL_KIND, SERVER_KIND = 1, 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_*
STATUS_OK, STATUS_ERROR = 1, 2
SUBMIT_RPC = "vyr.api.v0.Control/SubmitTask"
METRICS = {
    "vyr.task.submitted",
    "vyr.task.finished",
    "vyr.task.duration",
    "vyr.task.queue_wait",
    "vyr.task.start_latency",
    "vyr.task.queued",
    "vyr.task.running",
    "vyr.compile_cache.hits",
    "vyr.compile_cache.misses",
    "vyr.task.peak_memory",
    "vyr.task.fuel_used",
    "vyr.telemetry.span.exported",
    "vyr.telemetry.span.dropped",
}


def _otel_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "vyr-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")


def _trace(spans: list[dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    roots = [
        s
        for s in spans
        if s["name"] == "vyr.submit" and s["attributes"].get("vyr.task.id") == task_id
    ]
    if not roots:
        return []
    root = roots[0]
    return [root] + [s for s in spans if s["parent_span_id"] == root["span_id"]]


def _rpc_span(spans: list[dict[str, Any]], root: dict[str, Any]) -> dict[str, Any]:
    """The Control API call's server span that parents a task's root span."""
    (rpc,) = [s for s in spans if s["span_id"] == root["parent_span_id"]]
    return rpc


def test_daemon_exports_span_tree_attributes_and_metrics(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: GrpcReceiver,
    signed: Signed,
    daemons: list[Daemon],
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from vyr.client import Client

    _otel_env(monkeypatch, receiver.endpoint, "grpc")
    daemon = start_daemon(tmp_path / "home")
    daemons.append(daemon)
    caller = TracerProvider().get_tracer("test-client")
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        artifact = client.put_module_file(signed.module("hello"))
        from opentelemetry import trace

        with trace.use_span(caller.start_span("client.request"), end_on_exit=True) as span:
            good = client.run(artifact.digest, b"hi")
            caller_trace = format(span.get_span_context().trace_id, "032x")
            caller_span = format(span.get_span_context().span_id, "016x")
        trapped = client.run(artifact.digest, b"hi", resources=Resources(fuel=1))
    assert (good.status, trapped.status) == ("succeeded", "trapped")

    received = receiver.received
    assert received.wait_for(
        lambda r: len(_trace(r.spans, good.id)) == 5 and len(_trace(r.spans, trapped.id)) == 5
    )
    assert received.wait_for(lambda r: METRICS <= r.metric_names), sorted(received.metric_names)

    tree = _trace(received.spans, good.id)
    root = tree[0]
    assert {s["name"] for s in tree} == SPAN_NAMES
    # The client's traceparent reached the daemon: the call's server span is the client span's
    # child, and the task's spans are the call's.
    rpc = _rpc_span(received.spans, root)
    assert rpc["name"] == SUBMIT_RPC and rpc["kind"] == SERVER_KIND
    assert rpc["trace_id"] == caller_trace and rpc["parent_span_id"] == caller_span
    assert rpc["attributes"]["rpc.system.name"] == "grpc"
    assert rpc["attributes"]["rpc.method"] == SUBMIT_RPC
    assert rpc["attributes"]["rpc.response.status_code"] == "OK"
    assert rpc["start"] <= root["start"] and root["end"] <= rpc["end"]
    assert all(s["trace_id"] == caller_trace for s in tree)
    assert all(s["kind"] == INTERNAL_KIND for s in tree)
    assert root["status"] == STATUS_OK
    assert root["resource"]["service.name"] == "vyr-test"
    attributes = root["attributes"]
    assert attributes["vyr.task.id"] == good.id
    assert attributes["vyr.artifact.digest"] == artifact.digest
    assert attributes["vyr.artifact.signer"] == artifact.signer
    assert attributes["artifact.hash"] == artifact.digest.removeprefix("sha256:")
    assert attributes["vyr.input.digest"] == good.input_digest
    assert attributes["vyr.task.status"] == "succeeded" and attributes["vyr.task.exit_code"] == 0
    assert attributes["vyr.artifact.verification"] in ("verified", "cached")
    for name in (
        "vyr.usage.peak_memory_bytes",
        "vyr.usage.fuel_used",
        "vyr.usage.wall_ns",
        "vyr.granted.memory_bytes",
        "vyr.granted.timeout_ms",
    ):
        assert attributes[name] > 0, name
    # Times come from the phase clock: children sit inside the root, in phase order.
    by_name = {s["name"]: s for s in tree}
    assert (
        root["start"]
        <= by_name["vyr.artifact.load"]["start"]
        <= by_name["vyr.instantiate"]["start"]
    )
    assert (
        by_name["vyr.instantiate"]["end"]
        <= by_name["vyr.execute"]["start"]
        <= by_name["vyr.execute"]["end"]
    )
    assert (
        by_name["vyr.execute"]["end"] == by_name["vyr.complete"]["start"]
        and by_name["vyr.complete"]["end"] <= root["end"]
    )
    assert "vyr.artifact.cache" in by_name["vyr.artifact.load"]["attributes"]

    failed = _trace(received.spans, trapped.id)
    failed_root = failed[0]
    assert failed_root["status"] == STATUS_ERROR
    assert failed_root["attributes"]["error.type"] == trapped.trap_code
    assert failed_root["attributes"]["vyr.task.trap_code"] == trapped.trap_code
    assert next(s for s in failed if s["name"] == "vyr.execute")["status"] == STATUS_ERROR
    assert failed_root["trace_id"] != caller_trace
    failed_rpc = _rpc_span(received.spans, failed_root)
    assert failed_rpc["name"] == SUBMIT_RPC and failed_rpc["parent_span_id"] == ""

    # Metrics are exported periodically: wait for a collection that has both ends.
    assert received.wait_for(lambda r: _has_both_ends(r.metric_values.get("vyr.task.finished", [])))


def _has_both_ends(collections: list[list[Any]]) -> bool:
    return bool(collections) and all(
        point in collections[-1]
        for point in (({"vyr.task.status": "succeeded"}, 1), ({"vyr.task.status": "trapped"}, 1))
    )


def test_embedded_runtime_exports_over_http(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch, http_receiver: HttpReceiver
) -> None:
    from vyr.telemetry.pipeline import Telemetry

    _otel_env(monkeypatch, http_receiver.endpoint, "http/protobuf")
    telemetry = Telemetry()
    try:
        node.telemetry(telemetry)
        digest = put_guest("hello")
        results = [node.run(digest, b"hi") for _ in range(3)]
        node.telemetry().flush()
        received = http_receiver.received
        assert received.wait_for(lambda r: all(len(_trace(r.spans, t.id)) == 5 for t in results))
        assert received.wait_for(
            lambda r: {"vyr.task.finished", "vyr.task.duration"} <= r.metric_names
        )
        assert telemetry.processor.dropped_total() == 0
        assert telemetry.processor.exported == 15
    finally:
        telemetry.shutdown()


def test_unsampled_tasks_build_no_spans(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch, receiver: GrpcReceiver
) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
    from vyr.telemetry.pipeline import Telemetry

    _otel_env(monkeypatch, receiver.endpoint, "grpc")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    telemetry = Telemetry(sampler=ALWAYS_OFF)
    try:
        observer = node.telemetry(telemetry, streams=False)
        # The sampler said no and nothing else needs the task: no end callback, no spans.
        assert observer.submitting() is None
        digest = put_guest("hello")
        for _ in range(5):
            assert node.run(digest, b"hi").ok
        observer.flush()
        assert telemetry.processor.exported == 0 and observer.traces.cursor == 0
    finally:
        telemetry.shutdown()
