"""What the exported telemetry says about itself, per the OpenTelemetry conventions: metric
names, units and instrument kinds, histogram buckets that fit their unit, the instrumentation
scope (version, schema URL) and span kinds, decoded from the OTLP requests a receiver got."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import vyr
from vyr.errors import VyrError
from vyr.telemetry.metrics import BYTES_BUCKETS, COUNTERS, HISTOGRAMS, SECONDS_BUCKETS, UP_DOWN
from vyr.telemetry.otlp import SCHEMA_URL

from harness.otlp import GrpcReceiver, Received

INTERNAL_KIND = 1
TASKS = 4


@pytest.fixture
def keeping_receiver() -> Iterator[GrpcReceiver]:
    """An OTLP/gRPC receiver that keeps the requests whole."""
    started = GrpcReceiver().start()
    yield started
    started.stop()


@pytest.fixture
def exported(
    node: Any, put_guest: Any, monkeypatch: pytest.MonkeyPatch, keeping_receiver: GrpcReceiver
) -> Iterator[Received]:
    """TASKS hello tasks run on an embedded node exporting both signals to the receiver."""
    from vyr.telemetry.pipeline import Telemetry

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", keeping_receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    telemetry = Telemetry()
    try:
        observer = node.telemetry(telemetry)
        digest = put_guest("hello")
        for _ in range(TASKS):
            assert node.run(digest, b"hi").ok
        # One refused submit and one artifact that fails verification, so that the labelled
        # counters have a series too.
        with pytest.raises(VyrError):
            node.run("sha256:" + "0" * 64, b"hi")
        module, manifest, signature = node.artifact_parts(digest)
        with pytest.raises(VyrError):
            node.put_artifact(digest, manifest, bytes(len(signature)), module)
        observer.flush()
        received = keeping_receiver.received
        assert isinstance(received, Received)
        yield received
    finally:
        telemetry.shutdown()


def test_metric_names_units_and_kinds(exported: Received) -> None:
    latest = {metric.name: metric for _, metric in exported.metrics()}
    expected = {**COUNTERS, **UP_DOWN, **{k: v[:2] for k, v in HISTOGRAMS.items()}}
    assert set(expected) <= set(latest), sorted(set(expected) - set(latest))
    for name in latest:
        # No plural namespaces: every segment but the last is singular.
        assert not any(part.endswith("s") for part in name.split(".")[:-1]), name
    for name, (unit, _) in expected.items():
        assert latest[name].unit == unit, name
    for name in COUNTERS:
        assert latest[name].WhichOneof("data") == "sum" and latest[name].sum.is_monotonic, name
    for name in UP_DOWN:
        metric = latest[name]
        assert metric.WhichOneof("data") == "sum" and not metric.sum.is_monotonic, name
        assert metric.unit == "{task}"
    for name in HISTOGRAMS:
        assert latest[name].WhichOneof("data") == "histogram", name
    (finished,) = [
        p for p in latest["vyr.task.finished"].sum.data_points if p.attributes[0].value.string_value
    ]
    assert finished.as_int == TASKS


def _buckets(metric: Any) -> tuple[list[float], list[int]]:
    (point,) = metric.histogram.data_points
    return list(point.explicit_bounds), list(point.bucket_counts)


@pytest.mark.parametrize(
    ("name", "boundaries"),
    [
        ("vyr.task.duration", SECONDS_BUCKETS),
        ("vyr.task.start_latency", SECONDS_BUCKETS),
        ("vyr.task.peak_memory", BYTES_BUCKETS),
    ],
)
def test_histograms_have_buckets_that_fit_their_unit(
    exported: Received, name: str, boundaries: tuple[float, ...]
) -> None:
    bounds, counts = _buckets(exported.latest(name))
    assert bounds == list(boundaries)
    assert sum(counts) == TASKS
    # Neither everything in the first bucket (the SDK default's (0, 5] for seconds) nor in the
    # overflow one (where bytes landed): the values spread over the inner buckets.
    assert counts[0] == 0 and counts[-1] == 0, counts


def test_seconds_cover_microseconds_to_minutes_and_bytes_kib_to_gib() -> None:
    assert SECONDS_BUCKETS[0] == 1e-6 and SECONDS_BUCKETS[-1] >= 60
    assert BYTES_BUCKETS[0] == 1024 and BYTES_BUCKETS[-1] >= 1 << 30
    assert list(SECONDS_BUCKETS) == sorted(SECONDS_BUCKETS)
    assert list(BYTES_BUCKETS) == sorted(BYTES_BUCKETS)


def test_scope_version_and_schema_url_on_both_signals(exported: Received) -> None:
    scopes = {(s.scope.name, s.scope.version, s.schema_url) for s, _ in exported.metrics()}
    assert scopes == {("vyr.telemetry", vyr.__version__, SCHEMA_URL)}
    span_scopes = {
        (s.scope.name, s.scope.version, s.schema_url) for s, _ in exported.scoped_spans()
    }
    assert span_scopes == {("vyr.telemetry", vyr.__version__, SCHEMA_URL)}


def test_embedded_spans_are_internal(exported: Received) -> None:
    spans = [span for _, span in exported.scoped_spans()]
    assert len(spans) == 5 * TASKS
    assert {span.kind for span in spans} == {INTERNAL_KIND}
