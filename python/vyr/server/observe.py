"""The observation RPCs (`StreamTraces`, `StreamMetrics`) over the node's telemetry hook:
asyncio iteration of the trace and metric histories, proto conversion only."""

from __future__ import annotations

from collections.abc import AsyncIterator

from vyr.api.v0 import control_pb2 as pb
from vyr.telemetry.observer import TaskObserver
from vyr.telemetry.streams import MetricFilter, TraceFilter, aiterate, current_snapshot, spaced
from vyr.telemetry.wire import point_to_proto, span_to_proto


async def stream_traces(observer: TaskObserver, request: pb.TraceFilter) -> AsyncIterator[pb.Span]:
    """Replay after the cursor (or all with `include_finished`), then the live tail."""
    wanted = TraceFilter.of(
        request.task_ids, request.artifact_digest, request.statuses, request.span_names
    )
    after = (
        request.after_cursor
        if request.HasField("after_cursor")
        else (0 if request.include_finished else None)
    )
    async for item in aiterate(
        observer.traces, wanted.accepts, wanted.spans, after, not request.history_only
    ):
        yield span_to_proto(item)


async def stream_metrics(
    observer: TaskObserver, request: pb.MetricFilter
) -> AsyncIterator[pb.MetricPoint]:
    """The values now (or the replay after the cursor), then one snapshot per interval."""
    wanted = MetricFilter(frozenset(request.names), request.interval_ms)
    after = request.after_cursor if request.HasField("after_cursor") else None
    if after is None:
        for point in current_snapshot(observer, wanted):
            yield point_to_proto(point)
    async for item in aiterate(
        observer.snapshots,
        spaced(request.interval_ms),
        wanted.points,
        after,
        not request.history_only,
    ):
        yield point_to_proto(item)
