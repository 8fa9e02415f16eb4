"""Span delivery: a bounded batch processor for sampled tasks' span records that counts every
span it loses, in front of the standard OTLP exporters (gRPC or HTTP, configured by
`OTEL_EXPORTER_OTLP_*`), with the optional spool for outages.

Why not the SDK's `BatchSpanProcessor`: it drops silently when its queue is full and gives a
failed batch up, where VYR must count drops exactly, keep task throughput while the collector is
down (no 10 s retry loop per batch once the link is known to be down), and hand failed batches to
the spool. The env variables are the same (`OTEL_BSP_*`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ResourceProto

from vyr.telemetry import otlp
from vyr.telemetry.config import protocol
from vyr.telemetry.records import SpanRecord
from vyr.telemetry.spool import Spool

log = logging.getLogger("vyr.telemetry")
Send = Callable[[ExportTraceServiceRequest], bool]
PROBE_MIN_S, PROBE_MAX_S = 0.5, 5.0  # while the link is down, try it this often


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def otlp_sender() -> Send:
    """Sends one encoded request with the standard exporter for OTEL_EXPORTER_OTLP_PROTOCOL."""
    if protocol("traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        class EncodedGrpcExporter(GrpcExporter):
            # The mixin's retrying `_export` calls these two hooks; the batch is already encoded.
            def _translate_data(self, data: Any) -> ExportTraceServiceRequest:
                return data  # type: ignore[no-any-return]

            def _count_data(self, data: Any) -> int:
                return otlp.span_count(data)

        grpc_exporter = EncodedGrpcExporter()
        from opentelemetry.sdk.trace.export import SpanExportResult

        return lambda request: grpc_exporter.export(request) == SpanExportResult.SUCCESS  # type: ignore[arg-type]
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    http_exporter = HttpExporter()
    # The HTTP exporter encodes inside export(); its client sends bytes we already have.
    return lambda request: bool(
        http_exporter._client.export(request.SerializePartialToString()).success
    )


class CountingBatchProcessor:
    """Batches sampled spans to `send`; counts exported and dropped spans by reason."""

    def __init__(
        self, send: Send, resource: ResourceProto | None = None, spool: Spool | None = None
    ) -> None:
        self.max_queue = _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        self.max_batch = min(self.max_queue, _env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512))
        self.delay_s = _env_int("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        self._send = send
        self.resource = resource or ResourceProto()
        self.spool = spool
        self._queue: deque[SpanRecord] = deque()
        self._trace_states: dict[str, str] = {}  # trace id -> the caller's tracestate, if any
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._exporting = 0
        self.exported = 0
        self.dropped = {"queue_full": 0, "export_failed": 0}
        self._down_until = 0.0
        self._probe_s = PROBE_MIN_S
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vyr-span-export", daemon=True)
        self._thread.start()

    # -- intake -----------------------------------------------------------------------------------
    def enqueue(self, spans: list[SpanRecord], trace_state: str = "") -> None:
        """Queues a sampled task's spans (as many as fit: the rest are counted dropped)."""
        with self._lock:
            room = 0 if self._stopping else max(0, self.max_queue - len(self._queue))
            if room < len(spans):
                self.dropped["queue_full"] += len(spans) - room
                spans = spans[:room]
            self._queue.extend(spans)
            if trace_state and spans:
                self._trace_states[spans[0].trace_id] = trace_state
            full = len(self._queue) >= self.max_batch
        if full:
            self._wake.set()

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
        self._wake.set()
        self._thread.join(30)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Waits until everything queued so far was sent (or spooled, or counted dropped)."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        with self._idle:
            while (
                self._queue and not (self._link_down() and self.spool is None)
            ) or self._exporting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.set()
                self._idle.wait(min(remaining, 0.05))
        return True

    # -- counts ----------------------------------------------------------------------------------
    def dropped_total(self) -> int:
        """Spans lost for good (queue full, failed without a spool, evicted from the spool)."""
        return sum(self.dropped.values()) + (self.spool.dropped_spans if self.spool else 0)

    def counters(self) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        """(name, attributes, value) for the metrics recorder."""
        rows: list[tuple[str, tuple[tuple[str, str], ...], float]] = [
            ("vyr.telemetry.spans.exported", (), self.exported)
        ]
        dropped = dict(self.dropped)
        if self.spool:
            dropped["spool_full"] = self.spool.dropped_spans
        rows += [
            ("vyr.telemetry.spans.dropped", (("vyr.reason", reason),), count)
            for reason, count in dropped.items()
        ]
        return rows

    # -- the export thread -------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self._next_wait())
            self._wake.clear()
            while True:
                with self._lock:
                    stopping = self._stopping
                    # Link down and no spool: keep spans queued (bounded) until the next probe.
                    hold = self._link_down() and self.spool is None and not stopping
                    count = 0 if hold else min(self.max_batch, len(self._queue))
                    batch = [self._queue.popleft() for _ in range(count)]
                    self._exporting = len(batch)
                if batch:
                    self._deliver(batch)
                with self._lock:
                    self._exporting = 0
                    self._idle.notify_all()
                    more = bool(self._queue) and not hold
                if not batch and not stopping:
                    self._drain_spool()
                if not more:
                    break
            if stopping:
                return

    def _next_wait(self) -> float:
        if self._link_down():
            return max(0.0, min(self.delay_s, self._down_until - time.monotonic()))
        return self.delay_s

    def _link_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _mark(self, delivered: bool) -> None:
        if delivered:
            self._down_until, self._probe_s = 0.0, PROBE_MIN_S
        else:
            self._down_until = time.monotonic() + self._probe_s
            self._probe_s = min(PROBE_MAX_S, self._probe_s * 2)

    def _deliver(self, batch: Sequence[SpanRecord]) -> None:
        states: dict[str, str] = {}
        if self._trace_states:
            with self._lock:
                for trace_id in {record.trace_id for record in batch}:
                    if trace_id in self._trace_states:
                        states[trace_id] = self._trace_states.pop(trace_id)
        request = otlp.encode(self.resource, batch, states)
        # While the link is known to be down, skip the exporter's retry loop: spool at once (or,
        # when stopping, count as dropped).
        if not self._link_down():
            delivered = self._try(request)
            self._mark(delivered)
            if delivered:
                self.exported += len(batch)
                self._drain_spool()
                return
        if self.spool is not None:
            self.spool.put(request.SerializePartialToString(), len(batch))
        else:
            self.dropped["export_failed"] += len(batch)

    def _drain_spool(self) -> None:
        if self.spool is None or self._link_down():
            return
        while not self._stopping:
            oldest = self.spool.oldest()
            if oldest is None:
                return
            path, spans, payload = oldest
            delivered = self._try(ExportTraceServiceRequest.FromString(payload))
            self._mark(delivered)
            if not delivered:
                return
            self.spool.remove(path)
            self.exported += spans

    def _try(self, request: ExportTraceServiceRequest) -> bool:
        try:
            return self._send(request)
        except Exception:  # an exporter bug must not kill the export thread
            log.exception("span export failed")
            return False
