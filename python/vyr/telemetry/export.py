"""Span delivery: a bounded batch processor for sampled tasks' span records that counts every
span it loses, in front of one OTLP link (`links.py`: gRPC or HTTP, configured by
`OTEL_EXPORTER_OTLP_*`), with the optional spool for outages.

Why not the SDK's `BatchSpanProcessor`: it drops silently when its queue is full and gives a
failed batch up, where VYR must count drops exactly, keep task throughput while the collector is
down (no 10 s retry loop per batch once the link is known to be down), and hand failed batches to
the spool. The env variables are the same (`OTEL_BSP_*`). Every send is one attempt within the
export timeout, and within what is left of the exit budget when the process exits (`vyr._exit`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ResourceProto

from vyr import _exit
from vyr.telemetry import otlp
from vyr.telemetry.records import SpanRecord
from vyr.telemetry.spool import Spool

log = logging.getLogger("vyr.telemetry")
PROBE_MIN_S, PROBE_MAX_S = 0.5, 5.0  # while the link is down, try it this often
DROPPED = "vyr.telemetry.span.dropped"


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


class CountingBatchProcessor:
    """Batches sampled spans to `link` (a `links.Link`, or any object with its `send`, `close`
    and `timeout_s`); counts exported and dropped spans by reason."""

    def __init__(
        self,
        link: Any,
        resource: ResourceProto | None = None,
        spool: Spool | None = None,
        limits: otlp.AttributeLimits | None = None,
    ) -> None:
        self.max_queue = _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        self.max_batch = min(self.max_queue, _env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512))
        self.delay_s = _env_int("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        self._link = link
        self.resource = resource or ResourceProto()
        self.spool = spool
        self.limits = limits or otlp.AttributeLimits()
        self._consequence = (
            f"spans go to the spool in {spool.directory} until it answers"
            if spool is not None
            else f"spans that cannot wait for it are dropped and counted ({DROPPED})"
        )
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
        self._stop_by = 0.0  # time.monotonic() after which a stopping processor sends nothing
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

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Sends what is queued within `timeout_s` (cut to the exit budget while exiting); what
        does not go out by then is spooled or counted dropped. Idempotent."""
        timeout_s = _exit.remaining(timeout_s)
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._stop_by = time.monotonic() + timeout_s
        self._wake.set()
        # The thread itself gives up at `_stop_by`; the margin covers the batch it is encoding.
        self._thread.join(timeout_s + 0.2)
        if not self._thread.is_alive():
            self._link.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Waits until everything queued so far was sent (or spooled, or counted dropped)."""
        deadline = time.monotonic() + _exit.remaining(timeout_millis / 1000)
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
            ("vyr.telemetry.span.exported", (), self.exported)
        ]
        dropped = dict(self.dropped)
        if self.spool:
            dropped["spool_full"] = self.spool.dropped_spans
        rows += [(DROPPED, (("error.type", reason),), count) for reason, count in dropped.items()]
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
        request = otlp.encode(self.resource, batch, states, self.limits)
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
            delivered = self._try(payload)
            self._mark(delivered)
            if not delivered:
                return
            self.spool.remove(path)
            self.exported += spans

    def _try(self, request: ExportTraceServiceRequest | bytes) -> bool:
        timeout_s = _exit.remaining(self._link.timeout_s)
        if self._stopping:
            timeout_s = min(timeout_s, self._stop_by - time.monotonic())
        if timeout_s <= 0:  # the exit budget is spent: spool or count, do not wait
            return False
        try:
            return bool(self._link.send(request, timeout_s, self._consequence))
        except Exception:  # a link bug must not kill the export thread
            log.exception("span export failed")
            return False
