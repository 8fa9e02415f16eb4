"""The comparison's figures (issue 6), from the records of `docs/data/benchmarks.json` (one
per system, workload and metric): the goals as same-run ratios, and the tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.compare.compare_measure import SYSTEMS
from benchmarks.report.markdown import duration, size, times
from benchmarks.report.markdown import row as table_row

SLO_URL = "https://github.com/kubernetes/community/blob/master/sig-scalability/slos/pod_startup_latency.md"
GRACE_URL = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination"
CITED_STARTUP = f"pod startup SLO: p99 ≤ 5 s per cluster-day, stateless pods, image pull excluded ([SLO]({SLO_URL}))"
CITED_STOP = (
    f"default `terminationGracePeriodSeconds` 30 s before SIGKILL ([pod termination]({GRACE_URL}))"
)


def load(path: Path) -> list[dict[str, Any]]:
    """The records of one comparison run."""
    return list(json.loads(path.read_text()))


def pick(records: Sequence[dict[str, Any]], **where: Any) -> list[dict[str, Any]]:
    """The records whose fields have the values `where` gives."""
    return [r for r in records if all(r.get(k) == v for k, v in where.items())]


def value(records: Sequence[dict[str, Any]], **where: Any) -> float | None:
    """The value of the first record `pick` finds, or None."""
    found = pick(records, **where)
    return float(found[0]["value"]) if found else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing (or the denominator 0)."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def variant_label(record: dict[str, Any]) -> str:
    """The system, with the image variant when the record has one."""
    variant = record.get("variant")
    return f"{record['system']} ({variant} image)" if variant else record["system"]


# -- goals ---------------------------------------------------------------------------------------


def goals(
    records: Sequence[dict[str, Any]], previous: Sequence[dict[str, Any]] | None = None
) -> list[str]:
    """The goal table; with `previous` (the run before), a column shows its ratios too, so
    that run-to-run variation on this shared machine is visible next to every verdict."""
    rows = _goal_rows(records)
    header = "| goal (issue 6) | measured (same run) | |"
    rule = "| --- | --- | --- |"
    if previous:
        before = {goal: achieved for goal, _, achieved, _ in _goal_rows(previous)}
        machine = previous[0].get("machine", {})
        header += f" previous run ({machine.get('started_at', '?')}, load " + (
            f"{machine.get('loadavg_start', '?').split()[0]}→"
            f"{machine.get('loadavg_end', '?').split()[0]}) |"
        )
        rule += " --- |"
    lines = [header, rule]
    for goal, measured, _achieved, verdict in rows:
        line = f"| {goal} | {measured} | {verdict} |"
        if previous:
            line += f" {times(before.get(goal))} |"
        lines.append(line)
    return lines


def _goal_rows(
    records: Sequence[dict[str, Any]],
) -> list[tuple[str, str, float | None, str]]:
    """(goal, measured text, the ratio that decides it, verdict) per goal."""

    def warm(system: str, workload: str = "hello", variant: str | None = None) -> float | None:
        where: dict[str, Any] = {"system": system, "workload": workload,
                                 "metric": "warm_latency_p50_s"}  # fmt: skip
        if variant:
            where["variant"] = variant
        return value(records, **where)

    cold = {v: value(records, system="containerd-runc", metric="cold_start_s", variant=v)
            for v in ("scratch", "debian")}  # fmt: skip
    cold_vyr = value(records, system="vyr-embedded", metric="cold_start_s")
    cold_daemon = value(records, system="vyr-daemon", metric="cold_start_s")
    mem = {s: value(records, system=s, metric="peak_rss_per_task_bytes") for s in SYSTEMS}
    pss = {s: value(records, system=s, metric="peak_pss_per_task_bytes") for s in SYSTEMS}
    slowdown = value(records, system="vyr-embedded", metric="cpu_slowdown_vs_native")
    slowdown_daemon = value(records, system="vyr-daemon", metric="cpu_slowdown_vs_native")
    rows: list[tuple[str, str, float | None, str]] = []

    def row(goal: str, measured: str, achieved: float | None, target: float, low: bool = False
            ) -> None:  # fmt: skip
        if achieved is None:
            verdict = "not measured"
        else:
            met = achieved <= target if low else achieved >= target
            verdict = "met" if met else "**not met**"
        rows.append((goal, measured, achieved, verdict))

    for workload in ("hello", "event-transform"):
        emb = ratio(warm("containerd-runc", workload, "scratch"), warm("vyr-embedded", workload))
        dae = ratio(warm("containerd-runc", workload, "scratch"), warm("vyr-daemon", workload))
        row(f"warm task ≥ 1,000× faster than the container baseline (`{workload}`, p50)",
            f"embedded {times(emb)} ({duration(warm('vyr-embedded', workload))} vs "
            f"{duration(warm('containerd-runc', workload, 'scratch'))}); daemon {times(dae)} "
            f"({duration(warm('vyr-daemon', workload))})", emb, 1000)  # fmt: skip
    emb_cold = ratio(cold["scratch"], cold_vyr)
    row(
        "cold start ≥ 20× faster (never-seen artifact vs never-seen scratch image, median)",
        f"embedded {times(emb_cold)} ({duration(cold_vyr)} vs {duration(cold['scratch'])}); "
        f"daemon {times(ratio(cold['scratch'], cold_daemon))}; against the Debian image "
        f"{times(ratio(cold['debian'], cold_vyr))} ({duration(cold['debian'])})",
        emb_cold,
        20,
    )
    mem_ratio = ratio(mem["containerd-runc"], mem["vyr-embedded"])
    row(
        "memory per concurrent task ≥ 10× smaller (8 in flight)",
        f"RSS: embedded {times(mem_ratio)} ({size(mem['vyr-embedded'])} vs "
        f"{size(mem['containerd-runc'])}), daemon "
        f"{times(ratio(mem['containerd-runc'], mem['vyr-daemon']))}; PSS: embedded "
        f"{times(ratio(pss['containerd-runc'], pss['vyr-embedded']))} "
        f"({size(pss['vyr-embedded'])} vs {size(pss['containerd-runc'])})",
        mem_ratio,
        10,
    )
    row("CPU-bound ≤ 1.5× native (`anomaly`, median wall time)",
        f"embedded {times(slowdown)}, daemon {times(slowdown_daemon)}, wasmtime-py "
        f"{times(value(records, system='wasmtime-py', metric='cpu_slowdown_vs_native'))}, "
        f"containerd {times(value(records, system='containerd-runc', metric='cpu_slowdown_vs_native'))}",
        slowdown, 1.5, low=True)  # fmt: skip
    for workload in ("hello", "event-transform"):
        speed = ratio(warm("wasmtime-py", workload), warm("vyr-embedded", workload))
        row(f"VYR embedded ≥ 5× faster per task than the `wasmtime` package (`{workload}`, p50)",
            f"{times(speed)} ({duration(warm('vyr-embedded', workload))} vs "
            f"{duration(warm('wasmtime-py', workload))})", speed, 5)  # fmt: skip
    return rows


# -- tables --------------------------------------------------------------------------------------


def latency_rows(records: Sequence[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    """p50, p99 and rounds of each system's warm latency on `workload`."""
    rows = []
    for r in pick(records, workload=workload, metric="warm_latency_p50_s"):
        where = {"system": r["system"], "workload": workload}
        if r.get("variant"):
            where["variant"] = r["variant"]
        rows.append({"label": variant_label(r), "p50": r["value"],
                     "p99": value(records, metric="warm_latency_p99_s", **where),
                     "samples": r.get("samples")})  # fmt: skip
    return rows


def warm_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Warm task latency per workload and system, the cited pod start-up SLO beside."""
    lines = ["| workload | system | p50 | p99 | rounds | Kubernetes (cited, not measured) |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for workload in ("hello", "event-transform"):
        for row in latency_rows(records, workload):
            cited = CITED_STARTUP if row["label"].startswith("containerd") else ""
            lines.append(f"| `{workload}` | {row['label']} | {duration(row['p50'])} | "
                         f"{duration(row['p99'])} | {row['samples']} | {cited} |")  # fmt: skip
    return lines


def cold_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Cold start per system (and image variant)."""
    lines = [
        (
            "| system | median | p99 | min | rounds | of which put (VYR: read, hash, verify, "
            "compile, store) | Kubernetes (cited, not measured) |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in pick(records, metric="cold_start_s"):
        cited = ""
        if r["system"].startswith("containerd"):
            cited = CITED_STARTUP + "; a registry pull comes on top"
        cells = [
            variant_label(r),
            duration(r["value"]),
            duration(r.get("p99")),
            duration(r.get("min")),
            str(r.get("samples")),
            duration(r["put_median_s"]) if "put_median_s" in r else "",
            cited,
        ]
        lines.append(table_row(cells))
    return lines


def throughput_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Closed-loop throughput with 1, 2 and 8 tasks in flight."""
    lines = ["| workload | system | 1 in flight | 2 | 8 | tasks per round |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for workload in ("hello", "event-transform"):
        for system in SYSTEMS:
            found = pick(records, system=system, workload=workload, metric="throughput_per_s")
            if not found:
                continue
            by_k = {r["in_flight"]: r["value"] for r in found}
            cells = [f"{by_k[k]:,.1f}/s" if k in by_k else "—" for k in (1, 2, 8)]
            lines.append(f"| `{workload}` | {system} | {' | '.join(cells)} | "
                         f"{found[0].get('tasks')} |")  # fmt: skip
    return lines


def memory_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Peak RSS and PSS per concurrent task, and the idle footprint."""
    lines = ["| system | peak RSS per task | peak PSS per task | idle footprint (RSS) |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for system in SYSTEMS:
        idle = pick(records, system=system, metric="idle_rss_bytes")
        idle_text = size(idle[0]["value"]) if idle else "—"
        if idle and system in ("vyr-embedded", "wasmtime-py"):
            idle_text += " added to a Python process"
        elif idle and "after_session_rss" in idle[0]:
            idle_text += f" fresh; {size(idle[0]['after_session_rss'])} after this run's tasks"
        elif idle and system == "native":
            idle_text = "none (no resident runtime)"
        lines.append(f"| {system} | {size(value(records, system=system, metric='peak_rss_per_task_bytes'))} | "
                     f"{size(value(records, system=system, metric='peak_pss_per_task_bytes'))} | "
                     f"{idle_text} |")  # fmt: skip
    return lines


def size_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """What is shipped and what is kept on the node, per workload and system."""
    lines = ["| workload | system | shipped artifact | on the node (stored + compiled / unpacked) |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for r in pick(records, metric="artifact_bytes"):
        where = {"system": r["system"], "workload": r["workload"], "metric": "stored_bytes"}
        if r.get("variant"):
            where["variant"] = r["variant"]
        stored = value(records, **where)
        label = "all three" if r["workload"] == "all" else f"`{r['workload']}`"
        lines.append(f"| {label} | {variant_label(r)} | {size(r['value'])} | "
                     f"{size(stored) if stored is not None else size(r['value'])} |")  # fmt: skip
    return lines


def stop_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """CPU-bound wall time, cancel latency and deadline overshoot per system."""
    lines = [("| system | CPU-bound wall time | vs native | cancel latency p50 / p99 | "
              "deadline overshoot p50 / p99 | Kubernetes (cited, not measured) |"),
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for system in SYSTEMS:
        cancel = pick(records, system=system, metric="cancel_latency_s")
        over = pick(records, system=system, metric="deadline_overshoot_s")
        cited = CITED_STOP if system.startswith("containerd") else ""
        lines.append(
            f"| {system} | {duration(value(records, system=system, metric='cpu_bound_wall_s'))} | "
            f"{times(value(records, system=system, metric='cpu_slowdown_vs_native'))} | "
            + (f"{duration(cancel[0]['value'])} / {duration(cancel[0].get('p99'))}" if cancel
               else "—") + " | "
            + (f"{duration(over[0]['value'])} / {duration(over[0].get('p99'))}" if over else "—")
            + f" | {cited} |"
        )  # fmt: skip
    return lines
