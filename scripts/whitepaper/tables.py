"""Markdown tables of measured figures: each function renders one generated block of the paper.

Every number printed here comes from docs/data/ through `Data`; the only constants are goals
(thresholds a claim must meet, from the issues that set them) and cited figures with sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scripts.whitepaper.data import Data
from scripts.whitepaper.units import percent, rate, ratio, seconds, sig, size

SYSTEMS = ("vyr-embedded", "vyr-daemon", "containerd-runc", "wasmtime-py", "native")
SYSTEM_NAMES = {
    "vyr-embedded": "VYR embedded",
    "vyr-daemon": "VYR daemon",
    "containerd-runc": "containerd + runc job",
    "wasmtime-py": "`wasmtime` package",
    "native": "native process",
}
# The scratch image is the container baseline every ratio uses: it holds the same static binary
# as the native case, so the ratio measures the container machinery, not a distribution's size.
SCRATCH = {"variant": "scratch"}


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A pipe table; `align` is one letter per column (l or r), default left."""
    marks = [("---:" if letter == "r" else "---") for letter in align.ljust(len(header), "l")]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _scratch(system: str) -> dict[str, str]:
    return SCRATCH if system == "containerd-runc" else {}


def machine(data: Data) -> str:
    """The machine and versions of the comparison run."""
    info = data.machine
    versions = info["versions"]
    rows = [
        ["CPU", f"{info['cpu_model']}, {info['nproc']} vCPUs (shared with other work)"],
        ["memory", size(info["memory_bytes"])],
        ["kernel; Python", f"{info['kernel']}; {info['python']}"],
        ["VYR; `wasmtime` package", f"{versions['vyr']}; {versions['wasmtime_package']}"],
        ["containerd; runc", f"{versions['containerd'].split()[2]}; {versions['runc'].split()[2]}"],
        ["comparison run", f"{info['started_at']} → {info['finished_at']}"],
        [
            "load average (1/5/15 min)",
            f"{info['loadavg_start']} at start, {info['loadavg_end']} at end",
        ],
        ["micro-benchmark run", str(data.micro["datetime"])],
    ]
    return table(["", "comparison run (docs/data/benchmarks.json)"], rows)


def _warm(data: Data, system: str, workload: str, quantile: str = "p50") -> float:
    metric = f"warm_latency_{quantile}_s"
    return data.value(system, workload, metric, **_scratch(system))


def warm(data: Data) -> str:
    """Warm per-task latency for every system, with the container ratio."""
    rows = []
    for system in SYSTEMS:
        hello = _warm(data, system, "hello")
        transform = _warm(data, system, "event-transform")
        rows.append(
            [
                SYSTEM_NAMES[system],
                seconds(hello),
                seconds(_warm(data, system, "hello", "p99")),
                ratio(_warm(data, "containerd-runc", "hello") / hello),
                seconds(transform),
                ratio(_warm(data, "containerd-runc", "event-transform") / transform),
            ]
        )
    header = [
        "system",
        "hello p50",
        "hello p99",
        "container ÷ this",
        "event-transform p50",
        "container ÷ this",
    ]
    return table(header, rows, "lrrrrr")


def cold(data: Data) -> str:
    """First run of a never-seen artifact or image."""
    rows = []
    container = data.value("containerd-runc", "hello", "cold_start_s", **SCRATCH)
    for system in SYSTEMS:
        row = data.comparison_row(system, "hello", "cold_start_s", **_scratch(system))
        rows.append(
            [
                SYSTEM_NAMES[system],
                seconds(row["value"]),
                seconds(row["min"]),
                seconds(row["p99"]),
                ratio(container / row["value"]),
            ]
        )
    debian = data.comparison_row("containerd-runc", "hello", "cold_start_s", variant="debian")
    rows.append(
        [
            "containerd + runc, Debian image",
            seconds(debian["value"]),
            seconds(debian["min"]),
            seconds(debian["p99"]),
            ratio(container / debian["value"]),
        ]
    )
    return table(
        ["system (`hello`)", "median", "min", "p99", "scratch image ÷ this"], rows, "lrrrr"
    )


def throughput(data: Data) -> str:
    """Tasks per second at 1, 2 and 8 in flight."""
    rows = []
    for system in SYSTEMS:
        for workload in ("hello", "event-transform"):
            cells = [
                rate(
                    data.value(
                        system, workload, "throughput_per_s", in_flight=n, **_scratch(system)
                    )
                )
                for n in (1, 2, 8)
            ]
            rows.append([SYSTEM_NAMES[system], workload, *cells])
    return table(["system", "workload", "1 in flight", "2 in flight", "8 in flight"], rows, "llrrr")


def memory(data: Data) -> str:
    """Memory per concurrent task (8 `anomaly` tasks in flight) and idle footprint."""
    rows = []
    for system in SYSTEMS:
        rows.append(
            [
                SYSTEM_NAMES[system],
                size(data.value(system, "anomaly", "peak_rss_per_task_bytes")),
                size(data.value(system, "anomaly", "peak_pss_per_task_bytes")),
                size(data.value(system, "idle", "idle_rss_bytes")),
            ]
        )
    return table(["system", "RSS per task", "PSS per task", "idle RSS"], rows, "lrrr")


def artifacts(data: Data) -> str:
    """What each system stores per workload."""
    rows = []
    for workload in ("hello", "event-transform", "anomaly"):
        vyr = data.comparison_row("vyr-embedded", workload, "artifact_bytes")
        image = data.comparison_row("containerd-runc", workload, "artifact_bytes", **SCRATCH)
        rows.append(
            [
                workload,
                size(vyr["module_bytes"]),
                size(vyr["value"]),
                size(data.value("vyr-embedded", workload, "stored_bytes")),
                size(image["value"]),
                size(data.value("containerd-runc", workload, "stored_bytes", **SCRATCH)),
                size(data.value("native", workload, "artifact_bytes")),
            ]
        )
    debian = data.comparison_row("containerd-runc", "all", "artifact_bytes", variant="debian")
    rows.append(
        [
            "(Debian image, all three)",
            "",
            "",
            "",
            size(debian["value"]),
            size(data.value("containerd-runc", "all", "stored_bytes", variant="debian")),
            "",
        ]
    )
    header = [
        "workload",
        "Wasm module",
        "VYR bundle",
        "VYR stored (with compiled code)",
        "scratch image",
        "image stored",
        "native binary",
    ]
    return table(header, rows, "lrrrrrr")


def cpu_and_stop(data: Data) -> str:
    """CPU-bound slowdown and how fast a running task stops."""
    rows = []
    for system in SYSTEMS:
        cancel = data.comparison_row(system, "anomaly-long", "cancel_latency_s")
        deadline = data.comparison_row(system, "anomaly-long", "deadline_overshoot_s")
        rows.append(
            [
                SYSTEM_NAMES[system],
                seconds(data.value(system, "anomaly", "cpu_bound_wall_s")),
                ratio(data.value(system, "anomaly", "cpu_slowdown_vs_native")),
                seconds(cancel["value"]),
                seconds(cancel["p99"]),
                seconds(deadline["value"]),
                seconds(deadline["p99"]),
            ]
        )
    header = [
        "system",
        "`anomaly` wall",
        "÷ native",
        "cancel p50",
        "cancel p99",
        "deadline overshoot p50",
        "p99",
    ]
    return table(header, rows, "lrrrrrr")


def micro(data: Data) -> str:
    """The in-process micro-benchmarks (bench-raw.json)."""
    p50 = data.micro_info
    rows = [
        [
            "warm no-op task, `node.run`",
            seconds(p50("warm_vyr_noop", "p50_s")),
            seconds(p50("warm_wasmtime_package_noop", "p50_s")),
            ratio(p50("warm_wasmtime_package_noop", "p50_s") / p50("warm_vyr_noop", "p50_s")),
        ],
        [
            "warm `hello` task (stdin → stdout)",
            seconds(p50("warm_vyr", "p50_s")),
            seconds(p50("warm_wasmtime_package", "p50_s")),
            ratio(p50("warm_wasmtime_package", "p50_s") / p50("warm_vyr", "p50_s")),
        ],
        [
            "first run after restart (compiled cache)",
            seconds(p50("restart_vyr", "p50_s")),
            seconds(p50("restart_wasmtime_package", "p50_s")),
            ratio(p50("restart_wasmtime_package", "p50_s") / p50("restart_vyr", "p50_s")),
        ],
        [
            "put + first run, fresh home",
            seconds(data.micro_median("cold_vyr")),
            seconds(data.micro_median("cold_wasmtime_package")),
            ratio(data.micro_median("cold_wasmtime_package") / data.micro_median("cold_vyr")),
        ],
    ]
    text = table(
        ["case (p50 unless noted; medians for put)", "VYR", "`wasmtime` package", "VYR faster by"],
        rows,
        "lrrr",
    )
    noop = p50("throughput_vyr_noop", "tasks_per_s")
    hello = p50("throughput_vyr", "tasks_per_s")
    return (
        f"{text}\n\nThroughput, embedded, 2,000 tasks submitted then awaited: "
        f"{rate(noop)} no-op tasks, {rate(hello)} `hello` tasks "
        f"({sig(p50('throughput_vyr', 'workers'))} workers)."
    )


def daemon(data: Data) -> str:
    """The daemon against a bare grpc.aio server over the same runtime and a gRPC echo."""
    info = data.micro_info
    rows = []
    for name, label in (
        ("vyr", "VYR daemon"),
        ("floor", "bare grpc.aio over the runtime"),
        ("echo", "gRPC echo, same message sizes"),
    ):
        rows.append(
            [
                label,
                seconds(info(f"daemon_round_trip_{name}", "p50_s")),
                seconds(info(f"daemon_round_trip_{name}", "p99_s")),
                *[rate(info(f"daemon_throughput_{name}_{n}", "tasks_per_s")) for n in (1, 16, 64)],
            ]
        )
    return table(
        ["server", "round trip p50", "p99", "calls/s, 1 in flight", "16 in flight", "64 in flight"],
        rows,
        "lrrrrr",
    )


def telemetry(data: Data) -> str:
    """What tracing costs on the warm-task path."""
    rows = []
    for key, label in (
        ("telemetry_off", "off"),
        ("telemetry_sampled_1pct", "1 % sampled"),
        ("telemetry_full", "every task traced and exported"),
    ):
        case = data.micro_case(key)["extra_info"]
        rows.append(
            [
                label,
                rate(case["tasks_per_s"]),
                ratio(case["overhead_ratio"]),
                f"{case.get('spans_exported', 0):,}",
                f"{case.get('spans_dropped', 0):,}",
            ]
        )
    paced = data.micro_case("telemetry_paced")["extra_info"]
    text = table(
        ["telemetry", "tasks/s", "time ÷ bare", "spans exported", "dropped"], rows, "lrrrr"
    )
    return (
        f"{text}\n\nPaced: {paced['label']}: {paced['spans_expected']:,} spans expected, "
        f"{paced['spans_received']:,} received by the OTLP receiver, "
        f"{paced['spans_dropped']:,} dropped."
    )


def overhead(before: float, after: float) -> str:
    """`after` relative to `before` as a percentage change."""
    return percent(after / before - 1)


def _optional_cases(data: Data, prefix: str) -> list[dict[str, Any]]:
    return [
        case
        for case in data.micro["benchmarks"]
        if str(case.get("extra_info", {}).get("key", "")).startswith(prefix)
    ]


def _median_table(cases: list[dict[str, Any]], reference: str) -> str:
    """Medians of the cases, and each one's share of the `reference` case (same run)."""
    by_key = {case["extra_info"]["key"]: case for case in cases}
    base = by_key.get(reference)
    rows = []
    for case in cases:
        info = case["extra_info"]
        label = str(info.get("label", info["key"]))
        median = float(case["stats"]["median"])
        if "per_receipt_us" in info:
            # A batch case times the whole batch; what a task pays is its share of it.
            median, label = float(info["per_receipt_us"]) / 1e6, f"{label} (per receipt)"
        share = percent(median / base["stats"]["median"]) if base and case is not base else ""
        rows.append([label, seconds(median), share])
    return table(["case", "median", "share of the reference task"], rows, "lrr")


def receipts(data: Data) -> str:
    """Receipt cost (benchmarks/test_bench_receipts.py), when the run has it."""
    cases = _optional_cases(data, "receipt_")
    if not cases:
        return (
            "*Not in this run's data:* `docs/data/bench-raw.json` predates the receipt cases "
            "(`benchmarks/test_bench_receipts.py`). Their figures, measured by hand, are in "
            'docs/receipts.md ("Cost"); the next `make bench` records them here.'
        )
    return _median_table(cases, "receipt_warm_task")


def states(data: Data) -> str:
    """State filling, export and binding cost (benchmarks/test_bench_state_content.py)."""
    cases = _optional_cases(data, "state_")
    if not cases:
        return (
            "*Not in this run's data:* `docs/data/bench-raw.json` predates the state-content "
            "cases (`benchmarks/test_bench_state_content.py`); the next `make bench` records "
            "them here."
        )
    return _median_table(cases, "state_none")
