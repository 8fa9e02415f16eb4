"""Warm-task throughput with telemetry off, traces sampled at 1 %, and every task traced and
exported over OTLP/gRPC to a local receiver (`harness.otlp`, in its own process as a
collector would be), all in the same run; plus a paced run at 2,000 traced tasks/s that must
drop nothing. Each measured round alternates with the same batch on an uninstrumented node
(`overhead_ratio`): this machine's load drifts by more than the 5 % the goal is about."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_support import open_node
from harness.otlp import ReceiverProcess, receiver_process

TASKS = 2000
ROUNDS = 11
PACED_RATE = 2000  # traced tasks per second
PACED_SECONDS = 1.0


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A local OTLP/gRPC receiver in a child process (decoding what it receives must not
    compete with the node for this process's interpreter lock), and OTEL_* pointing at it
    (traces only)."""
    with receiver_process(tmp_path / "otlp-summary.json", protocol="grpc") as started:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", started.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", str(TASKS * 5 * 2))
        yield started


@pytest.fixture
def bare_node(tmp_path: Path, signed: Any) -> Iterator[Any]:
    """A second node without telemetry, whose batches alternate with the measured node's."""
    node = open_node(tmp_path / "bare", signed, telemetry=False)  # whatever OTEL_* say
    node.put_module_file(signed.module("hello"))
    time.sleep(1.1)  # the trust store settles; hello's optimised code is in
    yield node
    node.close()


def _batch(node: Any, digest: str) -> list[Any]:
    tasks = [node.submit_task(digest, b"hi") for _ in range(TASKS)]
    return [task.wait() for task in tasks]


def _throughput(
    benchmark: Any,
    node: Any,
    digest: str,
    key: str,
    label: str,
    telemetry: Any = None,
    bare: Any = None,
) -> None:
    """TASKS tasks per round on `node`. With `bare`, each round is preceded (untimed by
    pytest-benchmark, timed here) by the same batch on the uninstrumented node: the overhead is
    the ratio of the two medians over rounds that alternate, so drift in the machine's load
    between tests does not enter it."""
    bare_times: list[float] = []

    def bare_round() -> None:
        started = time.perf_counter()
        assert all(r.status == "succeeded" for r in _batch(bare, digest))
        bare_times.append(time.perf_counter() - started)

    benchmark.group = "telemetry-throughput"
    results = benchmark.pedantic(
        lambda: _batch(node, digest), setup=bare_round if bare is not None else None,
        rounds=ROUNDS, warmup_rounds=1, iterations=1,
    )  # fmt: skip
    assert all(r.status == "succeeded" for r in results)
    extra: dict[str, Any] = {}
    if telemetry is not None:
        node.telemetry().flush(30)
        extra = {
            "spans_exported": telemetry.processor.exported,
            "spans_dropped": telemetry.processor.dropped_total(),
        }
    if bare_times:
        bare_median = statistics.median(bare_times[-ROUNDS:])
        extra.update(
            bare_median_s=bare_median, overhead_ratio=benchmark.stats.stats.median / bare_median
        )
    benchmark.extra_info.update(
        key=key,
        label=label,
        tasks=TASKS,
        tasks_per_s=TASKS / benchmark.stats.stats.median,
        versus="telemetry_off",
        **extra,
    )


def test_throughput_telemetry_off(
    benchmark: Any, node: Any, digests: dict[str, str], bare_node: Any
) -> None:
    """No exporter configured: no hook on the hot path (paired with an identical node)."""
    _throughput(
        benchmark,
        node,
        digests["hello"],
        "telemetry_off",
        f"telemetry off: {TASKS} tasks",
        bare=bare_node,
    )
    benchmark.extra_info["baseline"] = True


def test_throughput_sampled_1_percent(
    benchmark: Any, node: Any, digests: dict[str, str], receiver: ReceiverProcess, bare_node: Any
) -> None:
    """Traces exported, 1 % sampled: the other 99 % cost only the sampler decision."""
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
    from vyr.telemetry.pipeline import Telemetry

    telemetry = Telemetry(sampler=TraceIdRatioBased(0.01))
    try:
        node.telemetry(telemetry, streams=False)
        _throughput(
            benchmark,
            node,
            digests["hello"],
            "telemetry_sampled_1pct",
            "traces sampled at 1 %",
            telemetry,
            bare_node,
        )
    finally:
        telemetry.shutdown()


def test_throughput_fully_sampled_exported(
    benchmark: Any, node: Any, digests: dict[str, str], receiver: ReceiverProcess, bare_node: Any
) -> None:
    """Every task traced (5 spans) and exported to the local receiver."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from vyr.telemetry.pipeline import Telemetry

    telemetry = Telemetry(sampler=ALWAYS_ON)
    try:
        node.telemetry(telemetry, streams=False)
        _throughput(
            benchmark,
            node,
            digests["hello"],
            "telemetry_full",
            "every task traced and exported",
            telemetry,
            bare_node,
        )
    finally:
        telemetry.shutdown()


def test_paced_traced_tasks_nothing_dropped(
    benchmark: Any, node: Any, digests: dict[str, str], receiver: ReceiverProcess
) -> None:
    """PACED_RATE traced tasks/s for PACED_SECONDS: all of them exported, none dropped."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from vyr.telemetry.pipeline import Telemetry

    digest = digests["hello"]
    telemetry = Telemetry(sampler=ALWAYS_ON)
    count = int(PACED_RATE * PACED_SECONDS)
    try:
        node.telemetry(telemetry, streams=False)

        def paced() -> float:
            start = time.perf_counter()
            tasks = []
            for index in range(count):
                delay = start + index / PACED_RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                tasks.append(node.submit_task(digest, b"hi"))
            for task in tasks:
                task.wait()
            node.telemetry().flush(30)
            return time.perf_counter() - start

        benchmark.group = "telemetry-paced"
        benchmark.pedantic(paced, rounds=1, iterations=1)
        exported, dropped = telemetry.processor.exported, telemetry.processor.dropped_total()
        received = receiver.read()["spans"]
        benchmark.extra_info.update(
            key="telemetry_paced",
            label=f"{PACED_RATE} traced tasks/s for {PACED_SECONDS} s",
            spans_expected=count * 5,
            spans_exported=exported,
            spans_dropped=dropped,
            spans_received=received,
        )
        assert dropped == 0 and exported == received == count * 5
    finally:
        telemetry.shutdown()
