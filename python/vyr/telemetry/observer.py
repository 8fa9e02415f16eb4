"""`TaskObserver`: the hook `vyr.Runtime` calls around each submit, and what ended tasks feed.

Per task, at submit: the sampler decides first. A task that is neither sampled nor needed by
metrics or streams costs that decision and nothing else (the core does not even publish its
end). Otherwise the node's one task-ended path (`vyr.dispatch`, or the daemon's journal loop)
hands the outcome to `ended`, which builds the span records, exports sampled ones, updates the
metrics and feeds the histories. The `vyr-telemetry` thread only takes the metric snapshots.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
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
_EARLY_KEPT = 4096  # ends awaiting their submit's registration (only a run's, for microseconds)
_TRACE_ID_LIMIT = (1 << 64) - 1  # TraceIdRatioBased compares the trace id's low 64 bits
VERIFICATION_ERRORS = frozenset(
    {"InvalidSignature", "UntrustedSigner", "DigestMismatch", "InvalidManifest", "InvalidModule"}
)


class TaskObserver:
    """Telemetry for one node. `list_artifacts` resolves signer key ids (cached per digest);
    `task_counts` gives the tasks (queued, running) now."""

    def __init__(
        self,
        list_artifacts: Callable[[], list[Artifact]],
        telemetry: Telemetry | None,
        settings: Settings | None = None,
        streams: bool = False,
        task_counts: Callable[[], tuple[int, int]] = lambda: (0, 0),
    ) -> None:
        self.settings = settings or (telemetry.settings if telemetry else Settings.from_env())
        self.telemetry = telemetry
        self._export = telemetry.processor if telemetry else None
        self._sampler = telemetry.sampler if telemetry else None
        self._ratio_bound = _root_ratio_bound(self._sampler)
        self._list_artifacts = list_artifacts
        self._signers: dict[str, str] = {}
        # Observed tasks whose end has not been processed yet: id -> trace context.
        self._in_flight: dict[str, TraceContext] = {}
        # Ends that arrived before their submit was registered (`Runtime.run` learns the id
        # only once the task ended): processed when `submitted` comes.
        self._early: OrderedDict[str, TaskResult] = OrderedDict()
        self._lock = threading.Lock()
        # The task-ended paths feeding `ended`: `flush` first lets each deliver what it has.
        self.feeds: list[Callable[[float], bool]] = []
        self.metrics = MetricsRecorder(task_counts, self._extra_counters)
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
        self._stopping = threading.Event()
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

    def submitted(self, context: TraceContext | None, task_id: str) -> None:
        """After the core accepted the task (publishing its end): count it, await its end."""
        if context is None:
            return
        if self.record_all:
            self.metrics.add("vyr.task.submitted")
        with self._lock:
            early = self._early.pop(task_id, None)
            if early is None:
                self._in_flight[task_id] = context
                return
        self._ended_one(early, context, time.time_ns())

    def ended(self, results: Sequence[TaskResult], delivered_ns: int | None = None) -> None:
        """Ended tasks, from the node's task-ended path: spans, export, metrics, histories.
        `delivered_ns`: when the ends reached Python (now if not given). Tasks this observer
        did not see submitted are kept a while (`run` learns its id only at the end)."""
        delivered = delivered_ns or time.time_ns()
        for result in results:
            with self._lock:
                context = self._in_flight.pop(result.id, None)
                if context is None:
                    self._early[result.id] = result
                    if len(self._early) > _EARLY_KEPT:
                        self._early.popitem(last=False)
                    continue
            self._ended_one(result, context, delivered)

    def _ended_one(self, result: TaskResult, context: TraceContext, delivered: int) -> None:
        context.delivered_ns = delivered
        try:
            self._process(result, context)
        except Exception:  # telemetry must never take the node down
            log.exception("telemetry: could not process an ended task")

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

    # -- the telemetry thread: metric snapshots ------------------------------------------------
    def _run(self) -> None:
        interval = self.settings.snapshot_ms / 1000
        while not self._stopping.wait(interval):
            if self.record_all:
                try:
                    self.publish_snapshot()
                except Exception:
                    log.exception("telemetry: could not take a metric snapshot")

    def _process(self, result: TaskResult, context: TraceContext) -> None:
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
        """Returns once every task that ended so far was processed (its feeds delivered it)
        and the exporters are flushed: at most `timeout_s` in all (less while exiting)."""
        deadline = time.monotonic() + _exit.remaining(timeout_s)
        for feed in list(self.feeds):
            feed(max(0.0, deadline - time.monotonic()))
        if self.telemetry is not None:
            self.telemetry.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_s: float = 10.0) -> None:
        """Stops the snapshot thread (the exporters stay with `Telemetry`). Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(_exit.remaining(timeout_s))


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
