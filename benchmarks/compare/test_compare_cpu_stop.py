"""CPU-bound slowdown against native (the anomaly guest), and how fast each system stops a
running task: cancel latency and deadline overshoot."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from benchmarks.compare.compare_measure import (
    CANCEL_AFTER_S,
    DEADLINE_S,
    SYSTEMS,
    Profile,
    Records,
    summary,
)
from benchmarks.compare.compare_systems import Workload


@pytest.mark.timeout(900)
def test_cpu_bound(
    request: pytest.FixtureRequest, workloads: dict[str, Workload], expected: dict[str, bytes],
    profile: Profile, records: Records,
) -> None:  # fmt: skip
    """`anomaly --count N`, the whole task from submission to output, on every system.

    The systems take turns within each round (native, vyr-embedded, ...), so that load from
    other work on a shared machine falls on all of them alike; one warm-up round first."""
    workload = workloads["anomaly"]
    systems = []
    for name in SYSTEMS:
        try:
            systems.append(request.getfixturevalue(name.replace("-", "_").replace(
                "containerd_runc", "containerd")))  # fmt: skip
        except pytest.skip.Exception:
            continue
    times: dict[str, list[float]] = {system.name: [] for system in systems}
    for system in systems:
        system.prepare(workload)
    for round_index in range(profile.cpu_rounds + 1):
        for system in systems:
            started = time.perf_counter()
            outcome = system.run(workload)
            elapsed = time.perf_counter() - started
            assert outcome.status == "ok" and outcome.stdout == expected["anomaly"], system.name
            if round_index > 0:
                times[system.name].append(elapsed)
    native = statistics.median(times["native"])
    for name, values in times.items():
        stats = summary(values)
        records.add(name, "anomaly", "cpu_bound_wall_s", stats["median"], "s",
                    samples=stats["samples"], min=stats["min"], max=stats["max"],
                    count=profile.cpu_count)  # fmt: skip
        records.add(name, "anomaly", "cpu_slowdown_vs_native", stats["median"] / native, "x",
                    count=profile.cpu_count, min_ratio=stats["min"] / min(times["native"]))  # fmt: skip


@pytest.mark.timeout(900)
@pytest.mark.parametrize("stop", ["cancel", "deadline"])
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_stop(
    benchmark: Any, system: Any, stop: str, workloads: dict[str, Workload], profile: Profile,
    records: Records,
) -> None:  # fmt: skip
    """An endless anomaly run, cancelled 200 ms after submission or given a 1 s deadline
    (`activeDeadlineSeconds: 1` for the job runner). Latency: from the cancel call (or the
    deadline) until the caller has the final result."""
    workload = workloads["anomaly-long"]
    system.prepare(workload)
    lateness: list[float] = []

    def once() -> None:
        if stop == "cancel":
            handle = system.start(workload)
            time.sleep(CANCEL_AFTER_S)
            asked = time.monotonic()
            handle.cancel()
            outcome = handle.wait()
            want = "cancelled"
        else:
            submitted = time.monotonic()
            handle = system.start(workload, deadline_s=DEADLINE_S)
            outcome = handle.wait()
            asked = submitted + DEADLINE_S
            want = "deadline"
        assert outcome.status == want, outcome
        lateness.append(outcome.ended - asked)

    benchmark.group = f"stop-{stop}"
    benchmark.pedantic(once, rounds=profile.stop_rounds, iterations=1)
    stats = summary(lateness)
    benchmark.extra_info.update(system=system.name, stop=stop, **stats)
    metric = "cancel_latency_s" if stop == "cancel" else "deadline_overshoot_s"
    records.add(system.name, "anomaly-long", metric, statistics.median(lateness), "s",
                p99=stats["p99"], max=stats["max"], samples=stats["samples"])  # fmt: skip
