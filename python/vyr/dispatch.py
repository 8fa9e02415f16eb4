"""The embedded node's one task-ended path: a `vyr-dispatch` thread takes outcomes from the
core's ended feed (waiting in Rust, without the GIL) and hands each batch, converted once, to
its sinks (the telemetry observer). Tasks nobody listens for are never published by the core.

(The daemon's node runs its own loop over the same feed, because its journal must commit an
end before anyone hears of it: see `vyr.server.node`.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from vyr import _core
from vyr.types import TaskResult

log = logging.getLogger("vyr")
Sink = Callable[[Sequence[TaskResult]], None]
BATCH = 512
_POLL_S = 0.5  # only bounds how long a stopped dispatcher takes to notice


class EndDispatcher:
    """Delivers every published outcome of `core` to `sinks`, in batches, on one thread."""

    def __init__(self, core: _core.Runtime, sinks: Sequence[Sink]) -> None:
        self._core = core
        self._sinks = list(sinks)
        self._processed = 0
        self._progress = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="vyr-dispatch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            outcomes, closed = self._core.next_ended(BATCH, _POLL_S)
            if outcomes:
                results = [TaskResult.from_core(outcome) for outcome in outcomes]
                for sink in self._sinks:
                    try:
                        sink(results)
                    except Exception:  # a broken sink must not stop the others, or the node
                        log.exception("a task-end sink failed")
            with self._progress:
                self._processed += len(outcomes)
                self._progress.notify_all()
            if closed:
                return

    def flush(self, timeout_s: float) -> bool:
        """Waits until every outcome published so far reached the sinks; False on timeout."""
        target = self._core.ended_published()
        deadline = time.monotonic() + timeout_s
        with self._progress:
            while self._processed < target and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(left)
        return True

    def stop(self, timeout_s: float) -> None:
        """Lets the thread finish what the (closed) feed still holds, then stops it."""
        self._thread.join(timeout_s)
        self._stopped = True
        self._core.wake_ended()
