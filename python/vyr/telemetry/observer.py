"""`TaskObserver`: the hook `vyr.Runtime` calls around each submit, and the telemetry thread.

Per task, at submit: the sampler decides first. A task that is neither sampled nor needed by
metrics or streams costs that decision and nothing else (no end callback, no spans). Otherwise
the end callback (on a Rust worker) only timestamps and queues the handle; the telemetry thread
builds the span records, exports sampled ones, updates the metrics and feeds the histories.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from vyr import _exit
from vyr.telemetry.config import Settings
from vyr.telemetry.hub import Hub
from vyr.telemetry.metrics import MetricPoint, MetricsRecorder
from vyr.telemetry.pipeline import Telemetry
from vyr.telemetry.records import ROOT, TaskTrace, TraceContext, build_task_spans
from vyr.types import Artifact, TaskResult

log = logging.getLogger("vyr.telemetry")
_TRACE_ID_LIMIT = (1 << 64) - 1  # TraceIdRatioBased compares the trace id's low 64 bits
VERIFICATION_ERRORS = frozenset(
    {"InvalidSignature", "UntrustedSigner", "DigestMismatch", "InvalidManifest", "InvalidModule"}
)
NOT_ENDED = frozenset({"queued", "running"})
CALLBACK_POLL_S = 0.002


class TaskObserver:
    """Telemetry for one node. `list_artifacts` resolves signer key ids (cached per digest)."""

    def __init__(
        self,
        list_artifacts: Callable[[], list[Artifact]],
        telemetry: Telemetry | None,
        settings: Settings | None = None,
        streams: bool = False,
    ) -> None:
        self.settings = settings or (telemetry.settings if telemetry else Settings.from_env())
        self.telemetry = telemetry
        self._export = telemetry.processor if telemetry else None
        self._sampler = telemetry.sampler if telemetry else None
        self._ratio_bound = _root_ratio_bound(self._sampler)
        self._list_artifacts = list_artifacts
        self._signers: dict[str, str] = {}
        # Observed tasks whose end has not been processed yet: id -> (handle, context).
        self._in_flight: dict[str, tuple[Any, TraceContext]] = {}
        self._ended: queue.SimpleQueue[tuple[Any, TraceContext] | None] = queue.SimpleQueue()
        self.lost = 0  # ended tasks dropped because the telemetry thread fell too far behind
        self.metrics = MetricsRecorder(self._queued_running, self._extra_counters)
        if telemetry is not None and telemetry.meter is not None:
            self.metrics.bind_meter(telemetry.meter)
        self.traces: Hub[TaskTrace] = Hub(
            self.settings.trace_history, self.settings.subscriber_queue
        )
        self.snapshots: Hub[list[MetricPoint]] = Hub(
            self.settings.metric_history, self.settings.subscriber_queue
        )
        # Every task is observed when metrics are exported or streams are on; else only sampled ones.
        self.record_all = streams or bool(telemetry and telemetry.meter is not None)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vyr-telemetry", daemon=True)
        self._thread.start()
        _exit.close_at_exit(self, _exit.OBSERVERS)

    # -- the Runtime's hook ----------------------------------------------------------------------
    def submitting(self) -> TraceContext | None:
        """Before the core's submit: the trace decision. None: this task is not observed."""
        if self._export is None and not self.record_all:
            return None
        parent = otel_context.get_current()
        caller = trace.get_current_span(parent).get_span_context()
        trace_id = caller.trace_id if caller.is_valid else random.getrandbits(128) or 1
        if not caller.is_valid and self._ratio_bound is not None:
            # The sampler's own rule for a root (TraceIdRatioBased), without its result objects:
            # an unsampled task then costs well under a microsecond here.
            sampled = (trace_id & _TRACE_ID_LIMIT) < self._ratio_bound
        elif self._sampler is not None:
            sampled = self._sampler.should_sample(
                parent, trace_id, ROOT, SpanKind.INTERNAL
            ).decision.is_sampled()
        else:
            sampled = False
        if not sampled and not self.record_all:
            return None
        context = TraceContext(time.time_ns(), format(trace_id, "032x"), sampled=sampled)
        if caller.is_valid:
            context.parent_span_id = format(caller.span_id, "016x")
            context.parent_remote = caller.is_remote
            context.trace_state = caller.trace_state.to_header() if caller.trace_state else ""
        return context

    def submitted(self, context: TraceContext | None, handle: Any) -> None:
        """After the core accepted the task: count it and ask for its end."""
        if context is None:
            return
        if self.record_all:
            self.metrics.add("vyr.task.submitted")
        self._in_flight[handle.id] = (handle, context)
        pending, limit = self._ended, self.settings.pending_tasks

        def ended() -> None:  # on a Rust worker thread, holding the GIL: keep it tiny
            context.delivered_ns = time.time_ns()
            if pending.qsize() < limit:
                pending.put((handle, context))
            else:
                self.lost += 1
                self._in_flight.pop(handle.id, None)

        handle.on_end(ended)

    def refused(self, context: TraceContext | None, error: BaseException) -> None:
        """The core refused the submit at once."""
        if context is not None and self.record_all:
            self.metrics.add("vyr.task.refused", 1, (("error.type", type(error).__name__),))

    def artifact_stored(self, artifact: Artifact) -> None:
        """Remembers the signer of a stored artifact."""
        self._signers[artifact.digest] = artifact.signer

    def artifact_refused(self, error: BaseException) -> None:
        """Counts a verification failure of a put."""
        if type(error).__name__ in VERIFICATION_ERRORS:
            self.metrics.add(
                "vyr.artifact.verification_failures",
                1,
                (("error.type", type(error).__name__), ("vyr.stage", "put")),
            )

    def enable_streams(self) -> None:
        """From now on every task feeds the histories (the first stream asks for this)."""
        self.record_all = True

    # -- the telemetry thread --------------------------------------------------------------------
    def _run(self) -> None:
        interval = self.settings.snapshot_ms / 1000
        next_snapshot = time.monotonic() + interval
        while True:
            timeout = max(0.0, next_snapshot - time.monotonic())
            batch: list[tuple[Any, TraceContext] | None] = []
            try:
                batch.append(self._ended.get(timeout=timeout))
                while len(batch) < 512:
                    batch.append(self._ended.get_nowait())
            except queue.Empty:
                pass
            for item in batch:
                if item is None:
                    return
                if isinstance(item[0], _Marker):
                    item[0].done.set()
                    continue
                try:
                    self._process(*item)
                except Exception:  # telemetry must never take the node down
                    log.exception("telemetry: could not process an ended task")
            if time.monotonic() >= next_snapshot:
                next_snapshot = time.monotonic() + interval
                if self.record_all:
                    self.publish_snapshot()

    def _process(self, handle: Any, context: TraceContext) -> None:
        result = TaskResult.from_core(handle.snapshot())
        self._in_flight.pop(result.id, None)
        spans = build_task_spans(result, context, self.signer(result.artifact))
        if context.sampled and self._export is not None:
            self._export.enqueue(spans, context.trace_state)
        if self.record_all:
            self.metrics.task_ended(result)
            self.traces.publish(
                TaskTrace(result.id, result.artifact, result.status, spans), _stamp_spans
            )

    def publish_snapshot(self) -> None:
        """Adds the current metric values to the metric history."""
        self.snapshots.publish(self.metrics.snapshot(), _stamp_points)

    def signer(self, digest: str) -> str:
        """The signer key id of a stored artifact ("" when unknown)."""
        signer = self._signers.get(digest)
        if signer is None:
            try:
                self._signers.update((a.digest, a.signer) for a in self._list_artifacts())
            except Exception:
                log.debug("telemetry: cannot list artifacts", exc_info=True)
            signer = self._signers.setdefault(digest, "")
        return signer

    def _queued_running(self) -> tuple[int, int]:
        statuses = [handle.status for handle, _ in list(self._in_flight.values())]
        return statuses.count("queued"), statuses.count("running")

    def _extra_counters(self) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        rows = self.telemetry.span_counters() if self.telemetry is not None else []
        return [
            *rows,
            (
                "vyr.telemetry.stream.dropped",
                (),
                self.traces.subscriber_drops + self.snapshots.subscriber_drops,
            ),
        ]

    def flush(self, timeout_s: float = 10.0) -> None:
        """Waits until every task that ended so far was processed, then flushes the exporters
        (at most `timeout_s` in all; less while the process exits)."""
        deadline = time.monotonic() + _exit.remaining(timeout_s)
        if not self._stopping:
            self._await_end_callbacks(deadline)
            done = threading.Event()
            self._ended.put((_Marker(done), TraceContext(0)))
            # Poll so a telemetry thread that already stopped cannot hold the caller.
            while not done.wait(0.05) and self._thread.is_alive() and time.monotonic() < deadline:
                pass
        if self.telemetry is not None:
            self.telemetry.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_s: float = 10.0) -> None:
        """Processes what is pending and stops the thread (the exporters stay with `Telemetry`);
        waits at most `timeout_s` (less while the process exits). Idempotent."""
        if self._stopping:
            return
        deadline = time.monotonic() + _exit.remaining(timeout_s)
        self._await_end_callbacks(deadline)
        self._stopping = True
        self._ended.put(None)
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def _await_end_callbacks(self, deadline: float) -> None:
        # The core wakes a task's waiters before it runs the task's end callbacks, so a task can
        # be over (`wait()` returned) while its end has not reached this observer yet: give
        # those callbacks until `deadline`. Tasks still queued or running are not waited for.
        while time.monotonic() < deadline:
            late = [
                handle
                for handle, context in list(self._in_flight.values())
                if not context.delivered_ns and handle.status not in NOT_ENDED
            ]
            if not late:
                return
            time.sleep(CALLBACK_POLL_S)


class _Marker:
    """A queue entry that only signals: everything before it was processed."""

    def __init__(self, done: threading.Event) -> None:
        self.done = done


def _root_ratio_bound(sampler: Any) -> int | None:
    """The trace-id bound under which `sampler` samples a root (no parent), when it is the SDK's
    TraceIdRatioBased, alone or as ParentBased's root (the OTEL_TRACES_SAMPLER default); None
    for any other sampler, which is then asked each time."""
    if isinstance(sampler, ParentBased):
        sampler = getattr(sampler, "_root", None)
    if isinstance(sampler, TraceIdRatioBased):
        return int(sampler.bound)
    return None


def _stamp_spans(cursor: int, item: TaskTrace) -> None:
    for span in item.spans:
        span.cursor = cursor


def _stamp_points(cursor: int, item: list[MetricPoint]) -> None:
    item[:] = [_with_cursor(point, cursor) for point in item]


def _with_cursor(point: MetricPoint, cursor: int) -> MetricPoint:
    from dataclasses import replace

    return replace(point, cursor=cursor)
