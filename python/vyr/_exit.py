"""Closes what VYR opened before the interpreter finalises, in order, within one time budget.

Why: the core's worker threads call Python (task-end callbacks) and the telemetry threads send
what is queued. Left to finalisation, a worker can call into an interpreter that is gone (PyO3
then panics: "The Python interpreter is not initialized") and queued spans are lost. One atexit
hook therefore closes, in this order: the nodes (the core stops: every task-end callback has
run), then their telemetry observers (ended tasks become spans), then the export pipelines
(spans and metrics are sent). Every bounded wait inside uses `remaining()`, so the whole exit
takes at most VYR_TELEMETRY_EXIT_TIMEOUT_MS (1 s by default) more, collector down or not.

The hook is registered when this module is first imported (by `vyr.runtime`), so it runs after
atexit hooks an application registers later, which may still use a node.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Any

NODES, OBSERVERS, PIPELINES = 0, 1, 2  # closing order
_lock = threading.Lock()
_registered: tuple[weakref.WeakSet[Any], ...] = (
    weakref.WeakSet(),
    weakref.WeakSet(),
    weakref.WeakSet(),
)
_deadline: float | None = None  # time.monotonic() by which the exit must be done, once exiting
log = logging.getLogger("vyr")


def close_at_exit(closable: Any, phase: int) -> None:
    """Calls `closable.close()` at exit (in `phase` order) unless it was garbage-collected."""
    with _lock:
        _registered[phase].add(closable)


def exiting() -> bool:
    """Whether the interpreter is running the exit sequence."""
    return _deadline is not None


def remaining(timeout_s: float) -> float:
    """`timeout_s`, cut to what is left of the exit budget while exiting."""
    if _deadline is None:
        return timeout_s
    return max(0.0, min(timeout_s, _deadline - time.monotonic()))


def run(budget_s: float | None = None) -> None:
    """The exit sequence (the atexit hook; tests call it in a child process)."""
    global _deadline
    if budget_s is None:
        from vyr.telemetry.config import exit_timeout_s

        budget_s = exit_timeout_s()
    _deadline = time.monotonic() + budget_s
    for phase in (NODES, OBSERVERS, PIPELINES):
        with _lock:
            closables = list(_registered[phase])
        for closable in closables:
            try:
                closable.close()
            except Exception:  # one failure must not keep the rest open
                log.debug("closing %r at exit failed", closable, exc_info=True)


atexit.register(run)
