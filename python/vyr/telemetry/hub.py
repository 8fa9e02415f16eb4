"""A bounded history with live subscribers: what `stream_traces` and `stream_metrics` read.

Every published item gets the next cursor (1, 2, ...). A subscriber may start after a cursor it
saw before: it first gets what the history still holds after it (or a `Gap` telling how many
items the history had already overrun), then the live tail. Each subscriber has its own bounded
queue; publishing never blocks, so a slow or stuck reader loses items (counted and reported to
it as a `Gap`) instead of slowing the node.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Gap:
    """Items this subscriber will never get: `history_overrun` (gone before it asked) or
    `queue_full` (it read too slowly). `cursor` is the last cursor the gap covers."""

    missed: int
    reason: str
    cursor: int


class Subscription(Generic[T]):
    """One reader's bounded queue. `wake` is called (from the publisher's thread) when an item
    arrives: a `threading.Event.set`, or a `call_soon_threadsafe` for an asyncio reader."""

    def __init__(
        self, hub: Hub[T], accept: Callable[[T], bool], capacity: int, wake: Callable[[], None]
    ) -> None:
        self._hub = hub
        self._accept = accept
        self._capacity = capacity
        self._wake = wake
        self._items: deque[tuple[int, T] | Gap] = deque()
        self._dropped = 0
        self._dropped_upto = 0
        self.dropped_total = 0
        self.closed = False

    def _offer(self, cursor: int, item: T) -> None:
        # Runs under the hub's lock, on the publisher's thread: constant time, never blocks.
        if not self._accept(item):
            return
        if len(self._items) >= self._capacity:
            self._dropped += 1
            self._dropped_upto = cursor
            self.dropped_total += 1
            return
        if self._dropped:
            self._items.append(Gap(self._dropped, "queue_full", self._dropped_upto))
            self._dropped = 0
        self._items.append((cursor, item))
        self._wake()

    def drain(self) -> list[tuple[int, T] | Gap]:
        """Everything queued so far (oldest first), including a trailing gap if items were lost."""
        with self._hub._lock:
            items = list(self._items)
            self._items.clear()
            if self._dropped:
                items.append(Gap(self._dropped, "queue_full", self._dropped_upto))
                self._dropped = 0
        return items

    def close(self) -> None:
        """Stops receiving; idempotent."""
        self._hub._unsubscribe(self)
        self.closed = True


class Hub(Generic[T]):
    """Bounded history (`history` items) plus subscribers (`queue` items each)."""

    def __init__(self, history: int, queue: int) -> None:
        self._lock = threading.Lock()
        self._history: deque[tuple[int, T]] = deque(maxlen=history)
        self._subscribers: list[Subscription[T]] = []
        self._queue = queue
        self.cursor = 0  # the last cursor handed out
        self.subscriber_drops = 0

    def publish(self, item: T, stamp: Callable[[int, T], None] | None = None) -> int:
        """Records `item` and offers it to every subscriber; returns its cursor. `stamp(cursor,
        item)` runs first, under the lock, so readers never see an unstamped item."""
        with self._lock:
            self.cursor += 1
            if stamp is not None:
                stamp(self.cursor, item)
            self._history.append((self.cursor, item))
            for subscriber in self._subscribers:
                before = subscriber.dropped_total
                subscriber._offer(self.cursor, item)
                self.subscriber_drops += subscriber.dropped_total - before
            return self.cursor

    def subscribe(
        self,
        accept: Callable[[T], bool],
        wake: Callable[[], None],
        after: int | None = None,
        follow: bool = True,
    ) -> tuple[list[tuple[int, T] | Gap], Subscription[T] | None]:
        """The history after cursor `after` (None: no replay; 0: all of it), and the live
        subscription (None unless `follow`). Atomic: nothing falls between the two."""
        with self._lock:
            replay: list[tuple[int, T] | Gap] = []
            if after is not None:
                oldest = self._history[0][0] if self._history else self.cursor + 1
                if after + 1 < oldest and after < self.cursor:
                    replay.append(Gap(oldest - after - 1, "history_overrun", oldest - 1))
                replay.extend(
                    entry for entry in self._history if entry[0] > after and accept(entry[1])
                )
            if not follow:
                return replay, None
            subscription = Subscription(self, accept, self._queue, wake)
            self._subscribers.append(subscription)
            return replay, subscription

    def _unsubscribe(self, subscription: Subscription[T]) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscribers(self) -> int:
        """Live subscriptions."""
        with self._lock:
            return len(self._subscribers)
