"""The paper's charts (SVG under docs/img/), each drawn from the same figures as its table."""

from __future__ import annotations

import math

from scripts.whitepaper.data import Data
from scripts.whitepaper.findings import TARGET_RATES, node_capacity
from scripts.whitepaper.svg import Bar, bar_chart
from scripts.whitepaper.tables import SCRATCH, SYSTEMS
from scripts.whitepaper.units import rate, seconds, size

# Chart labels are plain text: no Markdown backticks inside an SVG.
LABELS = {
    "vyr-embedded": "VYR embedded",
    "vyr-daemon": "VYR daemon",
    "containerd-runc": "containerd+runc",
    "wasmtime-py": "wasmtime package",
    "native": "native",
}


def _extra(system: str) -> dict[str, str]:
    return SCRATCH if system == "containerd-runc" else {}


def warm(data: Data) -> str:
    """Warm per-task latency (p50)."""
    bars = [
        Bar(workload, LABELS[system], value, seconds(value))
        for workload in ("hello", "event-transform")
        for system in SYSTEMS
        for value in [data.value(system, workload, "warm_latency_p50_s", **_extra(system))]
    ]
    return bar_chart("Warm task latency, p50 (lower is better)", "seconds", bars)


def cold(data: Data) -> str:
    """First run of a never-seen artifact or image (median)."""
    bars = [
        Bar("hello", LABELS[system], value, seconds(value))
        for system in SYSTEMS
        for value in [data.value(system, "hello", "cold_start_s", **_extra(system))]
    ]
    debian = data.value("containerd-runc", "hello", "cold_start_s", variant="debian")
    bars.append(Bar("hello", "containerd+runc, Debian image", debian, seconds(debian)))
    return bar_chart("Cold start, median (lower is better)", "seconds", bars)


def throughput(data: Data) -> str:
    """Tasks per second at 8 in flight."""
    bars = [
        Bar(workload, LABELS[system], value, rate(value))
        for workload in ("hello", "event-transform")
        for system in SYSTEMS
        for value in [
            data.value(system, workload, "throughput_per_s", in_flight=8, **_extra(system))
        ]
    ]
    return bar_chart(
        "Throughput, 8 tasks in flight on 2 cores (higher is better)", "tasks per second", bars
    )


def memory(data: Data) -> str:
    """RSS per concurrent task."""
    bars = [
        Bar("anomaly", LABELS[system], value, size(value))
        for system in SYSTEMS
        for value in [data.value(system, "anomaly", "peak_rss_per_task_bytes")]
    ]
    return bar_chart(
        "Memory per concurrent task, 8 in flight (lower is better)", "bytes of RSS per task", bars
    )


def daemon(data: Data) -> str:
    """The daemon against its floor and a gRPC echo."""
    names = {"vyr": "VYR daemon", "floor": "bare grpc.aio + runtime", "echo": "gRPC echo"}
    bars = [
        Bar(f"{n} in flight", names[name], value, rate(value))
        for n in (1, 16, 64)
        for name in names
        for value in [data.micro_info(f"daemon_throughput_{name}_{n}", "tasks_per_s")]
    ]
    return bar_chart(
        "Control API throughput (higher is better)", "calls per second", bars, log=False
    )


def nodes(data: Data) -> str:
    """Nodes needed for each target rate (the cost model of section 13)."""
    bars = [
        Bar(
            f"{target:,} tasks/s",
            LABELS[system],
            count,
            f"{count:,.0f} node{'' if count == 1 else 's'}",
        )
        for target in TARGET_RATES
        for system in ("vyr-embedded", "vyr-daemon", "containerd-runc")
        for count in [float(math.ceil(target / node_capacity(data, system, "hello")))]
    ]
    return bar_chart("2-core nodes needed for a cluster-wide rate of hello tasks", "nodes", bars)


CHARTS = {
    "docs/img/wp-warm.svg": warm,
    "docs/img/wp-cold.svg": cold,
    "docs/img/wp-throughput.svg": throughput,
    "docs/img/wp-memory.svg": memory,
    "docs/img/wp-daemon.svg": daemon,
    "docs/img/wp-nodes.svg": nodes,
}
