"""Cold start (a never-seen artifact or image, through first output) and warm task latency,
on every system, in one run."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from benchmarks.compare.compare_measure import SYSTEMS, Profile, Records, summary
from benchmarks.compare.compare_systems import ContainerdSystem, Workload

WARM_WORKLOADS = ("hello", "event-transform")


def _check(outcome: Any, expected: bytes) -> None:
    assert outcome.status == "ok", outcome
    assert outcome.stdout == expected, "output differs from the native build's"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("workload_key", WARM_WORKLOADS)
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_warm_latency(
    benchmark: Any, system: Any, workload_key: str, workloads: dict[str, Workload],
    expected: dict[str, bytes], profile: Profile, records: Records,
) -> None:  # fmt: skip
    """One task at a time on a prepared system (artifact put / image imported)."""
    workload = workloads[workload_key]
    system.prepare(workload)
    _check(system.run(workload), expected[workload_key])
    containerd = isinstance(system, ContainerdSystem)
    rounds = profile.warm_rounds_containerd if containerd else profile.warm_rounds
    outcomes: list[Any] = []

    benchmark.group = f"warm-{workload_key}"
    benchmark.pedantic(
        lambda: outcomes.append(system.run(workload)), rounds=rounds,
        warmup_rounds=max(1, profile.warmup_rounds // (4 if containerd else 1)), iterations=1,
    )  # fmt: skip
    for outcome in outcomes:
        _check(outcome, expected[workload_key])
    stats = summary(benchmark.stats.stats.data)
    benchmark.extra_info.update(system=system.name, workload=workload_key, **stats)
    variant = {"variant": "scratch"} if containerd else {}
    for metric, key in (("warm_latency_p50_s", "p50"), ("warm_latency_p99_s", "p99"),
                        ("warm_latency_median_s", "median")):  # fmt: skip
        records.add(system.name, workload_key, metric, stats[key], "s",
                    samples=stats["samples"], **variant)  # fmt: skip


@pytest.mark.timeout(600)
def test_warm_latency_debian_image(
    benchmark: Any, containerd: ContainerdSystem, workloads: dict[str, Workload],
    expected: dict[str, bytes], profile: Profile, records: Records,
) -> None:  # fmt: skip
    """The same job from the typical (Debian minbase) image."""
    workload = workloads["hello"]
    if "debian" not in containerd.images:
        pytest.skip("no Debian image (debootstrap absent)")
    containerd.prepare(workload, "debian")
    benchmark.group = "warm-hello"
    outcomes: list[Any] = []
    benchmark.pedantic(
        lambda: outcomes.append(containerd.run(workload, "debian")),
        rounds=profile.warm_rounds_containerd, warmup_rounds=1, iterations=1,
    )  # fmt: skip
    for outcome in outcomes:
        _check(outcome, expected["hello"])
    stats = summary(benchmark.stats.stats.data)
    benchmark.extra_info.update(system=containerd.name, workload="hello", variant="debian", **stats)
    for metric, key in (("warm_latency_p50_s", "p50"), ("warm_latency_p99_s", "p99"),
                        ("warm_latency_median_s", "median")):  # fmt: skip
        records.add(containerd.name, "hello", metric, stats[key], "s",
                    samples=stats["samples"], variant="debian")  # fmt: skip


@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", ["scratch", "debian"])
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_cold_start(
    benchmark: Any, system: Any, variant: str, workloads: dict[str, Workload],
    expected: dict[str, bytes], profile: Profile, records: Records, scratch: Path,
) -> None:  # fmt: skip
    """`hello` from an artifact or image the system has never seen, through its output.

    VYR: put (verify, compile, store) a new signed variant of the module (a custom section
    changes its digest) + run, on a running node. wasmtime-py: compile + run. native: exec of
    a fresh copy. containerd: `ctr images import` of the OCI archive (after the image was
    removed and garbage-collected) + the job; no registry pull, the most favourable case."""
    containerd = isinstance(system, ContainerdSystem)
    if variant == "debian" and not containerd:
        pytest.skip("the Debian image is a container-only variant")
    if variant == "debian" and "debian" not in system.images:
        pytest.skip("no Debian image (debootstrap absent)")
    workload = workloads["hello"]
    system.prepare(workload)
    rounds = profile.cold_rounds_debian if variant == "debian" else profile.cold_rounds
    outcomes: list[Any] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (system.cold_prepare(workload, scratch, variant),), {}

    benchmark.group = "cold-start"
    benchmark.pedantic(
        lambda token: outcomes.append(system.cold_run(workload, token)),
        setup=setup, rounds=rounds, iterations=1,
    )  # fmt: skip
    for outcome in outcomes:
        _check(outcome, expected["hello"])
    stats = summary(benchmark.stats.stats.data)
    benchmark.extra_info.update(system=system.name, variant=variant, **stats)
    extra: dict[str, Any] = {"variant": variant} if containerd else {}
    if getattr(system, "cold_put_s", None):
        extra["put_median_s"] = statistics.median(system.cold_put_s)
    records.add(system.name, "hello", "cold_start_s", stats["median"], "s",
                samples=stats["samples"], p99=stats["p99"], min=stats["min"], **extra)  # fmt: skip
