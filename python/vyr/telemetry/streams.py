"""Filters and iteration for `stream_traces` / `stream_metrics`, blocking (the embedded
runtime) and asyncio (the daemon's servicer): replay after a cursor, then the live tail, with
`Gap` markers where this reader lost items."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from vyr.telemetry.hub import Gap, Hub, Subscription
from vyr.telemetry.metrics import MetricPoint
from vyr.telemetry.records import SpanRecord, TaskTrace

T = TypeVar("T")
Out = TypeVar("Out")
IDLE_WAIT_S = 0.5  # a blocking reader re-checks `stop` this often


@dataclass(frozen=True)
class TraceFilter:
    """Which spans a trace stream sends; empty fields match everything."""

    task_ids: frozenset[str] = frozenset()
    artifact_digest: str = ""
    statuses: frozenset[str] = frozenset()
    span_names: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        task_ids: Iterable[str] = (),
        artifact_digest: str = "",
        statuses: Iterable[str] = (),
        span_names: Iterable[str] = (),
    ) -> TraceFilter:
        """From any iterables."""
        return cls(frozenset(task_ids), artifact_digest, frozenset(statuses), frozenset(span_names))

    def accepts(self, item: TaskTrace) -> bool:
        """Whether the task matches (span names are applied by `spans`)."""
        return (
            (not self.task_ids or item.task_id in self.task_ids)
            and (not self.artifact_digest or item.artifact == self.artifact_digest)
            and (not self.statuses or item.status in self.statuses)
        )

    def spans(self, item: TaskTrace) -> list[SpanRecord]:
        """The task's spans this filter lets through."""
        return [s for s in item.spans if not self.span_names or s.name in self.span_names]


@dataclass(frozen=True)
class MetricFilter:
    """Which metric points a metric stream sends; `interval_ms` spaces the snapshots out."""

    names: frozenset[str] = frozenset()
    interval_ms: int = 0

    def points(self, snapshot: list[MetricPoint]) -> list[MetricPoint]:
        """The snapshot's points with a wanted name."""
        return [p for p in snapshot if not self.names or p.name in self.names]


def iterate(
    hub: Hub[T],
    accept: Callable[[T], bool],
    expand: Callable[[T], list[Out]],
    after: int | None,
    follow: bool,
    stop: threading.Event | None = None,
) -> Iterator[Out | Gap]:
    """Blocking: the replay after `after`, then (if `follow`) live items until `stop` is set
    or the caller stops iterating."""
    wake = threading.Event()
    replay, subscription = hub.subscribe(accept, wake.set, after, follow)
    try:
        yield from _expand(replay, expand)
        while subscription is not None and not (stop is not None and stop.is_set()):
            wake.wait(IDLE_WAIT_S)
            wake.clear()
            yield from _expand(subscription.drain(), expand)
    finally:
        if subscription is not None:
            subscription.close()


async def aiterate(
    hub: Hub[T],
    accept: Callable[[T], bool],
    expand: Callable[[T], list[Out]],
    after: int | None,
    follow: bool,
) -> AsyncIterator[Out | Gap]:
    """The asyncio form: the publisher wakes the loop with one `call_soon_threadsafe` per burst."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    scheduled = threading.Event()

    def set_ready() -> None:
        scheduled.clear()
        ready.set()

    def wake() -> None:  # the publisher's thread
        if not scheduled.is_set():
            scheduled.set()
            try:
                loop.call_soon_threadsafe(set_ready)
            except RuntimeError:  # the loop is gone: nobody reads any more
                pass

    replay, subscription = hub.subscribe(accept, wake, after, follow)
    try:
        for item in _expand(replay, expand):
            yield item
        while subscription is not None:
            await ready.wait()
            ready.clear()
            for item in _expand(subscription.drain(), expand):
                yield item
    finally:
        if subscription is not None:
            subscription.close()


def _expand(
    entries: list[tuple[int, T] | Gap], expand: Callable[[T], list[Out]]
) -> Iterator[Out | Gap]:
    for entry in entries:
        if isinstance(entry, Gap):
            yield entry
        else:
            yield from expand(entry[1])


def spaced(interval_ms: int) -> Callable[[list[MetricPoint]], bool]:
    """An `accept` for metric snapshots that lets one through per `interval_ms` at most."""
    last = [0]

    def accept(snapshot: list[MetricPoint]) -> bool:
        stamp = snapshot[0].unix_nanos if snapshot else 0
        if interval_ms and stamp and stamp - last[0] < interval_ms * 1_000_000 * 0.9:
            return False
        last[0] = stamp
        return True

    return accept


def current_snapshot(observer: Any, names: MetricFilter) -> list[MetricPoint]:
    """The metric values right now, stamped with the history's latest cursor."""
    from dataclasses import replace

    cursor = observer.snapshots.cursor
    return [replace(p, cursor=cursor) for p in names.points(observer.metrics.snapshot())]


__all__ = [
    "Gap",
    "MetricFilter",
    "Subscription",
    "TraceFilter",
    "aiterate",
    "current_snapshot",
    "iterate",
    "spaced",
]
