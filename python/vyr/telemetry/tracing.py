"""Replays a task's span records through the OpenTelemetry API with their explicit times.

Runs on the telemetry thread after the task ended; the ids are preset so the exported spans
carry the same ids as the streamed ones (when the provider is VYR's own; with an application's
provider the records take the ids it generated).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from vyr.telemetry.records import SpanRecord, TraceContext

_KINDS = {"server": SpanKind.SERVER, "internal": SpanKind.INTERNAL}
_STATUS = {"ok": StatusCode.OK, "error": StatusCode.ERROR, "unset": StatusCode.UNSET}


def emit(tracer: trace.Tracer, ids: Any, spans: list[SpanRecord], context: TraceContext) -> None:
    """Creates and ends each span (root first); updates the records' ids to the exported ones."""
    root_record, children = spans[0], spans[1:]
    ids.preset(int(root_record.trace_id, 16), int(root_record.span_id, 16))
    root = _start(tracer, root_record, context.parent)
    actual = root.get_span_context()
    trace_id, root_id = format(actual.trace_id, "032x"), format(actual.span_id, "016x")
    parent = trace.set_span_in_context(root)
    for record in children:
        ids.preset(0, int(record.span_id, 16))
        span = _start(tracer, record, parent)
        record.trace_id, record.parent_span_id = trace_id, root_id
        record.span_id = format(span.get_span_context().span_id, "016x")
        _end(span, record)
    root_record.trace_id, root_record.span_id = trace_id, root_id
    _end(root, root_record)


def _start(tracer: trace.Tracer, record: SpanRecord, parent: Any) -> trace.Span:
    return tracer.start_span(
        record.name,
        context=parent,
        kind=_KINDS.get(record.kind, SpanKind.INTERNAL),
        attributes=record.attributes,
        start_time=record.start_time_unix_nano,
    )


def _end(span: trace.Span, record: SpanRecord) -> None:
    if record.status != "unset":
        span.set_status(Status(_STATUS[record.status], record.status_message or None if record.status == "error" else None))
    span.end(end_time=record.end_time_unix_nano)
