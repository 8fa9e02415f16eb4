"""Stream items <-> Control API messages (`Span`, `MetricPoint`, with `Gap` markers)."""

from __future__ import annotations

import json

from vyr.api.v0 import control_pb2 as pb
from vyr.telemetry.hub import Gap
from vyr.telemetry.metrics import MetricPoint
from vyr.telemetry.records import SpanRecord


def span_to_proto(item: SpanRecord | Gap) -> pb.Span:
    """A span record (or gap marker) -> proto."""
    if isinstance(item, Gap):
        return pb.Span(
            gap=pb.Gap(missed=item.missed, reason=item.reason, cursor=item.cursor),
            cursor=item.cursor,
        )
    return pb.Span(
        trace_id=item.trace_id,
        span_id=item.span_id,
        parent_span_id=item.parent_span_id,
        name=item.name,
        start_unix_nanos=item.start_time_unix_nano,
        end_unix_nanos=item.end_time_unix_nano,
        attributes={key: _text(value) for key, value in item.attributes.items()},
        kind=item.kind,
        status=item.status,
        status_message=item.status_message,
        task_id=item.task_id,
        cursor=item.cursor,
        attributes_json=json.dumps(item.attributes, sort_keys=True),
    )


def span_from_proto(message: pb.Span) -> SpanRecord | Gap:
    """Proto -> the span record (or gap) the embedded stream yields."""
    if message.HasField("gap"):
        return Gap(message.gap.missed, message.gap.reason, message.gap.cursor)
    attributes = (
        json.loads(message.attributes_json) if message.attributes_json else dict(message.attributes)
    )
    return SpanRecord(
        name=message.name,
        trace_id=message.trace_id,
        span_id=message.span_id,
        parent_span_id=message.parent_span_id,
        start_time_unix_nano=message.start_unix_nanos,
        end_time_unix_nano=message.end_unix_nanos,
        attributes=attributes,
        kind=message.kind or "internal",
        status=message.status or "unset",
        status_message=message.status_message,
        task_id=message.task_id,
        cursor=message.cursor,
    )


def point_to_proto(item: MetricPoint | Gap) -> pb.MetricPoint:
    """A metric point (or gap marker) -> proto."""
    if isinstance(item, Gap):
        return pb.MetricPoint(
            gap=pb.Gap(missed=item.missed, reason=item.reason, cursor=item.cursor),
            cursor=item.cursor,
        )
    return pb.MetricPoint(
        name=item.name,
        value=float(item.value),
        unix_nanos=item.unix_nanos,
        attributes=item.attributes,
        kind=item.kind,
        count=item.count,
        sum=item.sum,
        min=item.min,
        max=item.max,
        cursor=item.cursor,
    )


def point_from_proto(message: pb.MetricPoint) -> MetricPoint | Gap:
    """Proto -> the metric point (or gap) the embedded stream yields."""
    if message.HasField("gap"):
        return Gap(message.gap.missed, message.gap.reason, message.gap.cursor)
    return MetricPoint(
        name=message.name,
        kind=message.kind or "counter",
        value=message.value,
        attributes=dict(message.attributes),
        count=message.count,
        sum=message.sum,
        min=message.min,
        max=message.max,
        unix_nanos=message.unix_nanos,
        cursor=message.cursor,
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
