"""Measurement helpers for the comparison: profiles, percentiles, memory sampling from /proc,
closed-loop throughput, and the record format of `docs/data/benchmarks.json`."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.stats import percentile

SYSTEMS = ("vyr-embedded", "vyr-daemon", "containerd-runc", "wasmtime-py", "native")


@dataclass(frozen=True)
class Profile:
    """Repetition counts; `quick` is for development (≤ 3 min), `full` for the published run."""

    name: str
    warm_rounds: int  # in-process and native systems
    warm_rounds_containerd: int
    warmup_rounds: int
    cold_rounds: int
    cold_rounds_debian: int
    throughput_tasks: int  # per round, for the fast systems
    throughput_tasks_containerd: int
    throughput_rounds: int
    cpu_count: int  # anomaly --count for the CPU-bound case
    cpu_rounds: int
    stop_rounds: int
    memory_in_flight: int
    memory_sample_s: float


PROFILES = {
    "quick": Profile("quick", 30, 6, 3, 2, 1, 80, 6, 1, 500_000, 2, 2, 8, 0.3),
    "full": Profile("full", 400, 60, 20, 12, 3, 600, 24, 3, 3_000_000, 5, 8, 8, 1.0),
}
IN_FLIGHT = (1, 2, 8)
DEADLINE_S = 1.0  # activeDeadlineSeconds is a whole number of seconds; 1 is its minimum
CANCEL_AFTER_S = 0.2


class Records:
    """The raw results: one dict per (system, workload, metric)."""

    def __init__(self, profile: str, machine: dict[str, Any]) -> None:
        self.items: list[dict[str, Any]] = []
        self.profile = profile
        self.machine = machine

    def add(
        self, system: str, workload: str, metric: str, value: float, unit: str, **extra: Any
    ) -> None:
        self.items.append({
            "system": system, "workload": workload, "metric": metric, "value": value,
            "unit": unit, **extra, "profile": self.profile, "machine": self.machine,
        })  # fmt: skip


def _proc_field(pid: int, filename: str, key: str) -> int:
    """A `kB` field of /proc/PID/{status,smaps_rollup}, in bytes (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/{filename}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss(pids: Iterable[int]) -> int:
    return sum(_proc_field(pid, "status", "VmRSS") for pid in pids)


def pss(pids: Iterable[int]) -> int:
    """Proportional set size: shared pages divided among the processes sharing them."""
    return sum(_proc_field(pid, "smaps_rollup", "Pss") for pid in pids)


def sample_memory(pids: Callable[[], list[int]], seconds: float) -> tuple[int, int]:
    """(max RSS, max PSS) of the processes `pids()` names, sampled every 20 ms."""
    best_rss = best_pss = 0
    deadline = time.monotonic() + seconds
    while True:
        current = pids()
        best_rss = max(best_rss, rss(current))
        best_pss = max(best_pss, pss(current))
        if time.monotonic() >= deadline:
            return best_rss, best_pss
        time.sleep(0.02)


def closed_loop(task: Callable[[], Any], total: int, in_flight: int) -> float:
    """Runs `total` tasks keeping `in_flight` of them going (one thread each); returns the
    elapsed seconds. Every task result is checked by `task` itself."""
    counter = iter(range(total))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            try:
                task()
            except Exception as error:
                errors.append(error)
                return

    threads = [threading.Thread(target=worker) for _ in range(in_flight)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "samples": len(values),
    }
