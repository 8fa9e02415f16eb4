"""`OTEL_TRACES_EXPORTER=console`: sampled spans printed as the SDK's console exporter prints its
spans (one JSON object each), and `Fanout` for `otlp,console`.

The spans go to standard error, not standard output as the SDK's exporter does by default:
`vyr run` relays the task's own output on stdout, which must stay the task's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags, TraceState

import vyr
from vyr.telemetry.otlp import SCHEMA_URL, SCOPE_NAME, AttributeLimits, limit_attributes
from vyr.telemetry.records import SpanRecord

_KINDS = {"server": trace.SpanKind.SERVER, "internal": trace.SpanKind.INTERNAL}
_STATUS = {"ok": StatusCode.OK, "error": StatusCode.ERROR, "unset": StatusCode.UNSET}
_SCOPE = InstrumentationScope(SCOPE_NAME, vyr.__version__, SCHEMA_URL)
Counter = tuple[str, tuple[tuple[str, str], ...], float]


class ConsoleSpanWriter:
    """Prints each task's spans as they are enqueued (on the telemetry thread)."""

    def __init__(
        self, resource: Any, limits: AttributeLimits | None = None, out: IO[str] | None = None
    ) -> None:
        self.resource = resource
        self.limits = limits or AttributeLimits()
        self._exporter = ConsoleSpanExporter(out=out or sys.stderr)
        self.exported = 0

    def enqueue(self, spans: list[SpanRecord], trace_state: str = "") -> None:
        """Prints `spans` now."""
        state = TraceState.from_header([trace_state]) if trace_state else None
        self._exporter.export([self._readable(record, state) for record in spans])
        self.exported += len(spans)

    def _readable(self, record: SpanRecord, state: TraceState | None) -> ReadableSpan:
        flags = TraceFlags(TraceFlags.SAMPLED)
        context = SpanContext(
            int(record.trace_id, 16), int(record.span_id, 16), False, flags, state
        )
        parent = (
            SpanContext(
                int(record.trace_id, 16),
                int(record.parent_span_id, 16),
                record.parent_remote,
                flags,
                state,
            )
            if record.parent_span_id
            else None
        )
        return ReadableSpan(
            record.name,
            context,
            parent,
            self.resource,
            limit_attributes(record.attributes, self.limits),
            kind=_KINDS.get(record.kind, trace.SpanKind.INTERNAL),
            status=Status(_STATUS[record.status], record.status_message or None),
            start_time=record.start_time_unix_nano,
            end_time=record.end_time_unix_nano,
            instrumentation_scope=_SCOPE,
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Everything is printed at once."""
        return True

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Nothing to stop."""

    def dropped_total(self) -> int:
        """The console loses nothing."""
        return 0

    def counters(self) -> list[Counter]:
        """(name, attributes, value) for the metrics recorder."""
        return [("vyr.telemetry.span.exported", (), self.exported)]


class Fanout:
    """Several span processors behind one (OTEL_TRACES_EXPORTER=otlp,console)."""

    def __init__(self, processors: Sequence[Any]) -> None:
        self.processors = list(processors)

    @property
    def exported(self) -> int:
        """Spans delivered, summed over the processors."""
        return sum(int(processor.exported) for processor in self.processors)

    def enqueue(self, spans: list[SpanRecord], trace_state: str = "") -> None:
        """Hands the spans to every processor."""
        for processor in self.processors:
            processor.enqueue(spans, trace_state)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flushes every processor."""
        return all([processor.force_flush(timeout_millis) for processor in self.processors])

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stops every processor."""
        for processor in self.processors:
            processor.shutdown(timeout_s)

    def dropped_total(self) -> int:
        """Spans lost, summed over the processors."""
        return sum(processor.dropped_total() for processor in self.processors)

    def counters(self) -> list[Counter]:
        """The processors' counters, summed per series."""
        totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for processor in self.processors:
            for name, attributes, value in processor.counters():
                totals[(name, attributes)] = totals.get((name, attributes), 0) + value
        return [(name, attributes, value) for (name, attributes), value in totals.items()]
