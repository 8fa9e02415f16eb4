"""Throughput with 1, 2 and 8 tasks in flight (closed loop: a new task starts as soon as one
ends), on every system, in one run."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.compare.compare_measure import IN_FLIGHT, SYSTEMS, Profile, Records, closed_loop
from benchmarks.compare.compare_systems import ContainerdSystem, Workload


@pytest.mark.timeout(900)
@pytest.mark.parametrize("in_flight", IN_FLIGHT)
@pytest.mark.parametrize("workload_key", ["hello", "event-transform"])
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_throughput(
    benchmark: Any, system: Any, workload_key: str, in_flight: int,
    workloads: dict[str, Workload], expected: dict[str, bytes], profile: Profile,
    records: Records,
) -> None:  # fmt: skip
    workload = workloads[workload_key]
    system.prepare(workload)
    containerd = isinstance(system, ContainerdSystem)
    total = profile.throughput_tasks_containerd if containerd else profile.throughput_tasks
    want = expected[workload_key]

    def task() -> None:
        outcome = system.run(workload)
        assert outcome.status == "ok" and outcome.stdout == want, outcome.status

    closed_loop(task, min(total, 2 * in_flight), in_flight)  # warm-up
    benchmark.group = f"throughput-{workload_key}"
    elapsed = benchmark.pedantic(
        closed_loop, args=(task, total, in_flight), rounds=profile.throughput_rounds,
        iterations=1,
    )  # fmt: skip
    assert elapsed > 0
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        system=system.name, workload=workload_key, in_flight=in_flight, tasks=total,
        tasks_per_s=total / median,
    )  # fmt: skip
    extra = {"variant": "scratch"} if containerd else {}
    records.add(system.name, workload_key, "throughput_per_s", total / median, "tasks/s",
                in_flight=in_flight, tasks=total, rounds=profile.throughput_rounds,
                **extra)  # fmt: skip
