"""Issue 13 item 7: a spinning guest stops on time even while other processes hog the CPU.

Two busy processes (one per core of the CI machine) run while an endless loop is stopped 100
times (`VYR_HOSTILE_STOP_ROUNDS`) by a 20 ms deadline and as many times by a cancel, all in this process with `vyr.Runtime`.
Measured as in benchmarks/test_bench_stop.py: deadline overshoot = result back in Python minus
(`artifact_ready` + timeout); cancel latency = result back minus the moment before `cancel()`.
The issue's bound under load: p99 <= 20 ms and max <= 50 ms, for both. Today, under a hog, the
deadline overshoot reached 783 ms and a cancel took 317 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from vyr.types import Resources

ITEM_7 = "issue 13 item 7: stops are late on a contended CPU"
ROUNDS = int(os.environ.get("VYR_HOSTILE_STOP_ROUNDS", "100"))
TIMEOUT_S = 0.020
RUNNING_SETTLE_S = 0.003  # let the guest get into its loop before the cancel
P99_LIMIT_MS = 20.0
MAX_LIMIT_MS = 50.0
HOGS = 2
HOG = "while True: pass"


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """Two busy processes for the length of the test."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(HOGS)]
    time.sleep(0.2)  # let the scheduler see them as CPU-bound
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)


def _wait_running(task: Any, limit_s: float = 10.0) -> None:
    give_up = time.monotonic() + limit_s
    while task.status != "running":
        assert time.monotonic() < give_up, f"task did not start: {task}"
        time.sleep(0.0002)


def _spread(samples_ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples_ms)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50, p99, ordered[-1]


def _deadline_overshoots(node: Any, digest: str) -> list[float]:
    timeout_ns = round(TIMEOUT_S * 1e9)
    overshoots = []
    for _ in range(ROUNDS):
        result = node.run(digest, b"", resources=Resources(timeout_s=TIMEOUT_S))
        back = time.time_ns()
        assert result.status == "deadline_exceeded", result
        overshoots.append((back - result.phases["artifact_ready"] - timeout_ns) / 1e6)
    return overshoots


def _cancel_latencies(node: Any, digest: str) -> list[float]:
    latencies = []
    for _ in range(ROUNDS):
        task = node.submit_task(digest, b"", resources=Resources(timeout_s=60))
        _wait_running(task)
        time.sleep(RUNNING_SETTLE_S)
        asked = time.time_ns()
        task.cancel()
        result = task.wait(30)
        latencies.append((time.time_ns() - asked) / 1e6)
        assert result.status == "cancelled", result
    return latencies


# Not strict: on a shared 2-core machine the figure depends on what else runs, and today's
# code meets the bound in some runs (p99 7-40 ms, max 12-110 ms seen here), so a strict xfail
# would fail CI at random. Remove the marker with the fix: the bound must then hold every run.
@pytest.mark.xfail(strict=False, reason=ITEM_7)
def test_stops_are_on_time_under_cpu_contention(
    node: Any, put_hostile: Callable[[str], str], cpu_hog: None
) -> None:
    digest = put_hostile("spin")
    node.run(digest, b"", resources=Resources(timeout_s=TIMEOUT_S))  # compile outside the count
    deadline = _spread(_deadline_overshoots(node, digest))
    cancel = _spread(_cancel_latencies(node, digest))
    report = (
        f"deadline overshoot p50/p99/max {deadline[0]:.1f}/{deadline[1]:.1f}/{deadline[2]:.1f} ms; "
        f"cancel latency p50/p99/max {cancel[0]:.1f}/{cancel[1]:.1f}/{cancel[2]:.1f} ms "
        f"({ROUNDS} runs each, {HOGS} CPU hogs)"
    )
    print(report)
    for _, p99, worst in (deadline, cancel):
        assert p99 <= P99_LIMIT_MS and worst <= MAX_LIMIT_MS, report
