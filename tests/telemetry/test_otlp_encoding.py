"""The two shortcuts around the OpenTelemetry SDK on the hot path: the sampling rule applied
without calling the sampler, and span records encoded to OTLP without SDK spans."""

from __future__ import annotations

import random

import pytest
import vyr
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from vyr.telemetry.observer import _TRACE_ID_LIMIT, _root_ratio_bound
from vyr.telemetry.otlp import SCHEMA_URL, AttributeLimits, encode, resource_to_proto, span_count
from vyr.telemetry.records import SpanRecord


@pytest.mark.parametrize(
    "sampler",
    [TraceIdRatioBased(0.3), ParentBased(TraceIdRatioBased(0.01)), TraceIdRatioBased(0.0)],
)
def test_the_shortcut_decides_as_the_sampler_does_for_roots(sampler: object) -> None:
    bound = _root_ratio_bound(sampler)
    assert bound is not None
    generator = random.Random(7)
    decided = {True: 0, False: 0}
    for _ in range(5000):
        trace_id = generator.getrandbits(128) or 1
        expected = sampler.should_sample(
            otel_context.Context(), trace_id, "vyr.submit", SpanKind.SERVER
        ).decision.is_sampled()  # type: ignore[attr-defined]
        assert ((trace_id & _TRACE_ID_LIMIT) < bound) == expected
        decided[expected] += 1
    assert decided[False] > 0


def test_other_samplers_are_asked_each_time() -> None:
    assert _root_ratio_bound(ALWAYS_ON) is None
    assert _root_ratio_bound(ParentBased(ALWAYS_ON)) is None
    assert _root_ratio_bound(None) is None


def test_records_become_the_spans_of_one_request() -> None:
    trace_id, root_id, child_id, caller = "ab" * 16, "01" * 8, "02" * 8, "cd" * 8
    root = SpanRecord(
        "vyr.submit", trace_id, root_id, caller, 100, 900,
        {"vyr.task.id": "t-1", "vyr.task.cold": True, "vyr.usage.fuel_used": 42, "ratio": 0.5},
        kind="server", status="error", status_message="exited with code 3", task_id="t-1",
        parent_remote=True,
    )  # fmt: skip
    child = SpanRecord(
        "vyr.execute",
        trace_id,
        child_id,
        root_id,
        200,
        800,
        {"vyr.code.tier": "optimized"},
        task_id="t-1",
    )
    request = encode(
        resource_to_proto({"service.name": "vyr"}), [root, child], {trace_id: "vendor=1"}
    )

    assert span_count(request) == 2
    (resource_spans,) = request.resource_spans
    assert [(a.key, a.value.string_value) for a in resource_spans.resource.attributes] == [
        ("service.name", "vyr")
    ]
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "vyr.telemetry"
    assert scope_spans.scope.version == vyr.__version__
    assert scope_spans.schema_url == SCHEMA_URL
    encoded_root, encoded_child = scope_spans.spans
    assert encoded_root.trace_id.hex() == trace_id and encoded_root.span_id.hex() == root_id
    assert encoded_root.parent_span_id.hex() == caller
    assert encoded_root.kind == encoded_root.SPAN_KIND_SERVER
    assert (encoded_root.start_time_unix_nano, encoded_root.end_time_unix_nano) == (100, 900)
    assert encoded_root.flags & 0xFF == 0x01, "sampled"
    assert encoded_root.flags & 0x300 == 0x300, "its parent is the remote caller"
    assert encoded_root.trace_state == encoded_child.trace_state == "vendor=1"
    assert encoded_root.status.code == encoded_root.status.STATUS_CODE_ERROR
    assert encoded_root.status.message == "exited with code 3"
    values = {a.key: a.value for a in encoded_root.attributes}
    assert values["vyr.task.id"].string_value == "t-1"
    assert values["vyr.task.cold"].HasField("bool_value") and values["vyr.task.cold"].bool_value
    assert (
        values["vyr.usage.fuel_used"].HasField("int_value")
        and values["vyr.usage.fuel_used"].int_value == 42
    )
    assert values["ratio"].double_value == 0.5
    assert encoded_child.parent_span_id.hex() == root_id
    assert encoded_child.kind == encoded_child.SPAN_KIND_INTERNAL
    assert encoded_child.flags & 0x300 == 0x100, "a local parent"
    assert encoded_child.status.code == encoded_child.status.STATUS_CODE_UNSET


def _root_with(attributes: dict[str, object]) -> SpanRecord:
    return SpanRecord("vyr.submit", "ab" * 16, "01" * 8, "", 1, 2, attributes, task_id="t-1")


@pytest.mark.parametrize(
    ("environment", "count", "length"),
    [
        ({"OTEL_ATTRIBUTE_COUNT_LIMIT": "3", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "4"}, 3, 4),
        # The span-specific variables win over the general ones.
        (
            {
                "OTEL_ATTRIBUTE_COUNT_LIMIT": "1",
                "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "2",
                "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "1",
                "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "6",
            },
            2,
            6,
        ),
    ],
)
def test_attribute_limits_from_the_environment_are_applied(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], count: int, length: int
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    attributes = {
        "vyr.task.id": "task-0123456789",
        "vyr.artifact.digest": "sha256:" + "a" * 64,
        "vyr.usage.fuel_used": 12345678,
        "vyr.task.cold": True,
        "vyr.task.status": "succeeded",
    }
    request = encode(
        resource_to_proto({}), [_root_with(attributes)], None, AttributeLimits.from_env()
    )
    (span,) = request.resource_spans[0].scope_spans[0].spans
    # The first ones are kept (the task id comes first), the rest counted as dropped.
    assert [a.key for a in span.attributes] == list(attributes)[:count]
    assert span.dropped_attributes_count == len(attributes) - count
    kept = {a.key: a.value for a in span.attributes}
    assert kept["vyr.task.id"].string_value == "task-0123456789"[:length]


def test_without_limits_set_the_sdk_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ):
        monkeypatch.delenv(name, raising=False)
    limits = AttributeLimits.from_env()
    assert (limits.count, limits.value_length) == (128, None)
    long_value = "x" * 10_000
    request = encode(resource_to_proto({}), [_root_with({"long": long_value})], None, limits)
    (span,) = request.resource_spans[0].scope_spans[0].spans
    assert (
        span.attributes[0].value.string_value == long_value and span.dropped_attributes_count == 0
    )
