"""Warm tasks one at a time (latency, against the `wasmtime` package running the same module)
and many at once (throughput), on two guests: `noop` (the trivial guest of the goals: starts and
exits 0) and `hello` (reads stdin, writes stdout and stderr)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_support import WasmtimePackageRunner, phase_medians
from harness.guests import Signed
from harness.stats import spread

WARM_ROUNDS = 3000
BASELINE_ROUNDS = 600
THROUGHPUT_TASKS = 2000
THROUGHPUT_ROUNDS = 5


def test_warm_task_vyr(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """`node.run(digest, b"hi")`: submit, run on a worker, wait, result back in Python."""
    digest = digests["hello"]
    results: list[Any] = []

    def one_task() -> None:
        results.append(node.run(digest, b"hi"))

    benchmark.group = "warm-task"
    benchmark.pedantic(one_task, rounds=WARM_ROUNDS, warmup_rounds=200, iterations=1)
    measured = results[-WARM_ROUNDS:]
    assert all(r.status == "succeeded" and r.stdout == b"HI" for r in measured)
    benchmark.extra_info.update(
        key="warm_vyr",
        versus="warm_wasmtime_package",
        label="VYR embedded: node.run(digest, b'hi')",
        **spread(benchmark.stats.stats.data),
        phases_median_us=phase_medians(measured),
    )


def test_warm_task_vyr_busy_neighbour(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """The same call while another process burns one core. Not a goal figure: it shows how much
    of the idle-machine latency is waking idle vCPUs for the hand-offs between threads."""
    digest = digests["hello"]
    results: list[Any] = []

    def one_task() -> None:
        results.append(node.run(digest, b"hi"))

    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        benchmark.group = "warm-task"
        benchmark.pedantic(one_task, rounds=WARM_ROUNDS, warmup_rounds=200, iterations=1)
    finally:
        neighbour.kill()
        neighbour.wait()
    measured = results[-WARM_ROUNDS:]
    assert all(r.status == "succeeded" and r.stdout == b"HI" for r in measured)
    benchmark.extra_info.update(
        key="warm_vyr_busy_neighbour",
        versus="warm_wasmtime_package",
        label="VYR embedded, same call, one other process spinning on a core",
        **spread(benchmark.stats.stats.data),
        phases_median_us=phase_medians(measured),
    )


def test_warm_task_wasmtime_package(benchmark: Any, signed: Signed, tmp_path: Path) -> None:
    """The same module with the `wasmtime` package: Store + WasiConfig + Linker per task."""
    runner = WasmtimePackageRunner(tmp_path)
    module = runner.compile(signed.module("hello").read_bytes())
    assert runner.run(module, b"hi") == (0, b"HI")

    benchmark.group = "warm-task"
    benchmark.pedantic(runner.run, args=(module, b"hi"), rounds=BASELINE_ROUNDS, warmup_rounds=20)
    benchmark.extra_info.update(
        key="warm_wasmtime_package",
        label="wasmtime package: Store+WasiConfig+Linker+_start per task",
        baseline=True,
        **spread(benchmark.stats.stats.data),
    )


def test_throughput_vyr(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """Submit N trivial tasks, then wait for all of them."""
    digest = digests["hello"]
    submit_times: list[float] = []

    def batch() -> list[Any]:
        started = time.perf_counter()
        tasks = [node.submit_task(digest, b"hi") for _ in range(THROUGHPUT_TASKS)]
        submit_times.append(time.perf_counter() - started)
        return [task.wait() for task in tasks]

    benchmark.group = "throughput"
    results = benchmark.pedantic(batch, rounds=THROUGHPUT_ROUNDS, warmup_rounds=1, iterations=1)
    assert len(results) == THROUGHPUT_TASKS
    assert all(r.status == "succeeded" for r in results)
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update(
        key="throughput_vyr",
        label=f"VYR embedded: submit {THROUGHPUT_TASKS} tasks, then wait all",
        tasks=THROUGHPUT_TASKS,
        tasks_per_s=THROUGHPUT_TASKS / median_s,
        submit_loop_median_s=statistics.median(submit_times[-THROUGHPUT_ROUNDS:]),
        workers=os.cpu_count(),  # the node default: one worker per core
    )


def test_warm_task_vyr_noop(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """`node.run(digest)` on the trivial guest: the goal's figure."""
    digest = digests["noop"]
    results: list[Any] = []

    def one_task() -> None:
        results.append(node.run(digest))

    benchmark.group = "warm-task-noop"
    benchmark.pedantic(one_task, rounds=WARM_ROUNDS, warmup_rounds=200, iterations=1)
    measured = results[-WARM_ROUNDS:]
    assert all(r.status == "succeeded" for r in measured)
    benchmark.extra_info.update(
        key="warm_vyr_noop",
        versus="warm_wasmtime_package_noop",
        label="VYR embedded: node.run(digest) on the no-op guest",
        **spread(benchmark.stats.stats.data),
        phases_median_us=phase_medians(measured),
    )


def test_warm_task_wasmtime_package_noop(benchmark: Any, signed: Signed, tmp_path: Path) -> None:
    """The no-op guest with the `wasmtime` package: Store + WasiConfig + Linker per task."""
    runner = WasmtimePackageRunner(tmp_path)
    module = runner.compile(signed.module("noop").read_bytes())
    assert runner.run(module, b"") == (0, b"")

    benchmark.group = "warm-task-noop"
    benchmark.pedantic(runner.run, args=(module, b""), rounds=BASELINE_ROUNDS, warmup_rounds=20)
    benchmark.extra_info.update(
        key="warm_wasmtime_package_noop",
        label="wasmtime package, no-op guest: Store+WasiConfig+Linker+_start per task",
        baseline=True,
        **spread(benchmark.stats.stats.data),
    )


def test_throughput_vyr_noop(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """Submit N no-op tasks, then wait for all of them: the goal's figure."""
    digest = digests["noop"]

    def batch() -> list[Any]:
        tasks = [node.submit_task(digest) for _ in range(THROUGHPUT_TASKS)]
        return [task.wait() for task in tasks]

    benchmark.group = "throughput"
    results = benchmark.pedantic(batch, rounds=THROUGHPUT_ROUNDS, warmup_rounds=1, iterations=1)
    assert len(results) == THROUGHPUT_TASKS and all(r.status == "succeeded" for r in results)
    benchmark.extra_info.update(
        key="throughput_vyr_noop",
        label=f"VYR embedded: submit {THROUGHPUT_TASKS} no-op tasks, then wait all",
        tasks=THROUGHPUT_TASKS,
        tasks_per_s=THROUGHPUT_TASKS / benchmark.stats.stats.median,
        workers=os.cpu_count(),
    )
