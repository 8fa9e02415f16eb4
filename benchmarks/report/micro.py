"""The micro-benchmark part of `docs/benchmarks.md` (issue 2's goals, then one section per
benchmark group), from pytest-benchmark's JSON. Every figure comes from the one JSON file, so a
ratio always compares two cases measured in the same run; each goal is marked met or not met
from the numbers alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.report.cases import Case, Cases
from benchmarks.report.markdown import duration, factor, row, table
from benchmarks.report.micro_notes import NOTES

GROUP_ORDER = ["warm-task", "throughput", "digest", "cold-start", "stop-latency", "cli"]
GROUP_TITLES = {"daemon": "Control API (daemon)"}
DAEMON_COMMAND = (
    ".venv/bin/python -m pytest benchmarks/test_bench_daemon.py -p no:faulthandler \\\n"
    "    --benchmark-only --benchmark-json=docs/data/bench-daemon-raw.json"
)

REPRODUCE = """\
```sh
make bench   # the two commands below, then the container comparison (benchmarks/compare)
.venv/bin/python -m pytest benchmarks --ignore=benchmarks/compare \\
    --benchmark-only --benchmark-json=docs/data/bench-raw.json
.venv/bin/python -m benchmarks.report
```

The benchmarks live in `benchmarks/`, outside `make test` (`pytest tests`). Raw results, every
round included: `docs/data/bench-raw.json`. The same command rewrites the comparison section
below from `docs/data/benchmarks.json` (`--only micro` leaves it as it is)."""

NOISE = """\
A shared 2-core VM is noisy: a load average near or above 2 means other work competed for the
cores during the run, which inflates p99s and lowers throughput most."""

METHOD = """\
## How each case is measured

- **warm-task**: one `node.run(digest, b"hi")` per round on the `hello` guest (upper-cases its
  stdin), after 200 warm-up rounds. Baseline: the `wasmtime` package with the Engine and Module
  made once and, per task, a Store, a WasiConfig with stdin/stdout/stderr files, a Linker,
  instantiation and `_start` (what `tests/workloads` does). The package enforces no memory cap,
  deadline or fuel there; VYR does.
- **throughput**: submit N tasks, then wait for each; tasks/s = N / median round time.
- **digest**: 10 MiB of random bytes; both sides produce the same `sha256:<hex>` string.
- **cold-start**: put + first run in a fresh home (a fresh Winch compile; Cranelift's follows in
  the background and is awaited, untimed, before the next round) against compiling (Cranelift)
  with the package in a fresh Engine; first run after a restart (the previous `Runtime` closed
  and a new one opened on the same home in the untimed setup, so the timed run reads and
  re-verifies the artifact and loads its code from the on-disk compile cache) against the
  package's `Module.deserialize_file` in a fresh Engine. A third VYR case also times `Runtime()`.
- **stop-latency**: `benchmarks/guests/spin.c`, an endless loop, stopped by a 20 ms deadline or
  by `Task.cancel()` about 3 ms after it started running; on an idle node and with two more
  endless loops keeping both workers busy.
- **cli**: a fresh process per round, output discarded.
- Percentiles are nearest-rank over the rounds: with 100 rounds, p99 is the second-worst."""


# -- goals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A goal of issue 2: its text, the cases it needs, and how it is measured and decided."""

    text: str
    needs: tuple[str, ...]
    measure: Callable[[Cases], tuple[str, bool]]


def _warm_p50(c: Cases) -> tuple[str, bool]:
    vyr = c["warm_vyr_noop"]
    text = f"no-op guest: p50 {duration(vyr.p(0.5))} (p99 {duration(vyr.p(0.99))})"
    if "warm_vyr" in c:
        text += f"; `hello` (stdin → stdout): p50 {duration(c['warm_vyr'].p(0.5))}"
    return text, vyr.p(0.5) <= 50e-6


def _warm_ratio(c: Cases) -> tuple[str, bool]:
    vyr, package = c["warm_vyr_noop"], c["warm_wasmtime_package_noop"]
    speedup = package.median / vyr.median
    text = f"no-op guest: {factor(speedup)} faster (medians {duration(vyr.median)} vs {duration(package.median)})"
    ok = speedup >= 5
    if "warm_vyr" in c and "warm_wasmtime_package" in c:
        hello = c["warm_wasmtime_package"].median / c["warm_vyr"].median
        text += f"; `hello`: {factor(hello)}"
        ok = ok and hello >= 5
    return text, ok


def _throughput(c: Cases) -> tuple[str, bool]:
    case = c["throughput_vyr_noop"]
    rate = case.extra["tasks_per_s"]
    text = f"no-op guest: {rate:,.0f} tasks/s (median of {case.stats['rounds']} rounds)"
    if "throughput_vyr" in c:
        text += f"; `hello`: {c['throughput_vyr'].extra['tasks_per_s']:,.0f} tasks/s"
    return text, rate >= 20_000


def _digest(c: Cases) -> tuple[str, bool]:
    value = c["digest_vyr"].median / c["digest_hashlib"].median
    return f"{factor(value)} hashlib's time (medians)", value <= 1.15


def _restart(c: Cases) -> tuple[str, bool]:
    case = c["restart_vyr"]
    text = f"p50 {duration(case.p(0.5))}, p99 {duration(case.p(0.99))}"
    size = case.extra.get("module_bytes")
    if size:
        text += f" (hello.wasm, {size / 1000:.1f} KB)"
    if "restart_open_vyr" in c:
        text += f"; with `Runtime()` timed too: p50 {duration(c['restart_open_vyr'].p(0.5))}"
    return text, case.p(0.5) <= 2e-3


def _stop(c: Cases) -> tuple[str, bool]:
    stops = [case for key, case in sorted(c.items()) if key.startswith("stop_")]
    parts = [
        f"{case.extra['stop']}/{case.extra['load']} {duration(case.extra['overshoot']['p99_s'])}"
        for case in stops
    ]
    worst = max(case.extra["overshoot"]["p99_s"] for case in stops)
    return "p99 overshoot " + ", ".join(parts), worst <= 20e-3


def _cli(c: Cases) -> tuple[str, bool]:
    median = c["cli_help"].median
    text = f"median {duration(median)}"
    if "cli_python" in c:
        text += f" (interpreter start alone {duration(c['cli_python'].median)})"
    return text, median <= 0.150


GOALS = [
    Goal("warm task p50 ≤ 50 µs in-process", ("warm_vyr_noop",), _warm_p50),
    Goal(
        "warm task ≥ 5× faster than the `wasmtime` package",
        ("warm_vyr_noop", "warm_wasmtime_package_noop"),
        _warm_ratio,
    ),
    Goal("≥ 20,000 trivial tasks/s on 2 cores", ("throughput_vyr_noop",), _throughput),
    Goal("sha256 of 10 MiB within 1.15× of `hashlib`", ("digest_vyr", "digest_hashlib"), _digest),
    Goal("first run after restart ≤ 2 ms, ~20 KB module (p50)", ("restart_vyr",), _restart),
    Goal(
        "endless loop stops ≤ 20 ms (p99) after deadline or cancel",
        ("stop_deadline_idle",),
        _stop,
    ),
    Goal("`vyr --help` ≤ 150 ms", ("cli_help",), _cli),
]


def goals_table(cases: Cases) -> list[str]:
    """Issue 2's goals: what was measured and whether each is met."""
    lines = ["| goal (issue 2) | measured | |", "| --- | --- | --- |"]
    for goal in GOALS:
        if not all(key in cases for key in goal.needs):
            lines.append(f"| {goal.text} | not measured in this run | — |")
            continue
        measured, met = goal.measure(cases)
        lines.append(f"| {goal.text} | {measured} | {'met' if met else '**not met**'} |")
    return lines


# -- per-group sections -----------------------------------------------------------------------


def group_table(group: list[Case], cases: Cases) -> list[str]:
    """Timed-call statistics; the last column compares with the case's own in-run baseline
    (`extra_info["versus"]`) as a multiple of the baseline's median time."""
    rates = any("tasks_per_s" in case.extra for case in group)
    header = ["case", "median", "p50", "p99", "min", "rounds", "vs baseline (median time)"]
    header += ["tasks/s"] if rates else []
    lines = table(header)
    for case in group:
        versus = cases.get(case.extra.get("versus", ""))
        if case.baseline:
            shown = "baseline"
        elif versus is not None:
            shown = f"{factor(case.median / versus.median)} `{versus.key}`"
        else:
            shown = ""
        cells = [
            f"{case.label} (`{case.key}`)",
            duration(case.median),
            duration(case.p(0.5)),
            duration(case.p(0.99)),
            duration(float(case.stats["min"])),
            str(case.stats["rounds"]),
            shown,
        ]
        if rates:
            rate = case.extra.get("tasks_per_s")
            cells.append(f"{rate:,.0f}" if rate else "")
        lines.append(row(cells))
    return lines


def machine_lines(machine: dict[str, Any], when: str) -> list[str]:
    """The machine, the versions and the load average, from pytest-benchmark's machine info."""
    info = machine.get("vyr", {})
    python = info.get("python", machine.get("python_version", "?"))
    return [
        (
            f"- CPU: {info.get('cpu_model', '?')}, nproc = {info.get('nproc', '?')}; "
            f"kernel {machine.get('release', '?')}"
        ),
        (
            f"- Python {python}; VYR {info.get('vyr_version', '?')}; `wasmtime` package "
            f"{info.get('wasmtime_package', '?')}"
        ),
        (
            f"- run at {when}; load average (1/5/15 min) {info.get('loadavg_start', '?')} at the "
            f"start, {info.get('loadavg_end', '?')} at the end (that one includes the "
            "benchmarks' own busy loops)"
        ),
    ]


def shared_machine_warning(machine: dict[str, Any]) -> list[str]:
    """A loud line when the 1-minute load average before the run shows the cores were shared.
    (The figure at the end includes the benchmarks' own busy loops, so it cannot tell.)"""
    info = machine.get("vyr", {})
    nproc = info.get("nproc") or 1
    try:
        load = float(str(info.get("loadavg_start", "")).split()[0])
    except (IndexError, ValueError):
        return []
    if load < nproc:
        return []
    return [
        (
            f"**This run was measured on a shared machine** (1-minute load average {load:.1f} "
            f"on {nproc} cores when it started): read single figures, p99s above all, as upper "
            "bounds; the same-run ratios are more robust."
        ),
        "",
    ]


def render(
    cases: Cases, machine: dict[str, Any], when: str, separate: dict[str, list[str]] | None = None
) -> str:
    """The micro-benchmark page; `separate` maps a group to lines saying it comes from another
    run."""
    by_group: dict[str, list[Case]] = {}
    for case in cases.values():
        by_group.setdefault(case.group, []).append(case)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m benchmarks.report` from `docs/data/bench-raw.json`; do not edit by hand.",
        "Every ratio compares two cases measured in the same run on the same machine.",
        "",
        "## Reproduce",
        "",
        REPRODUCE,
        "",
        "## Machine",
        "",
        *machine_lines(machine, when),
        "",
        NOISE,
        "",
        *shared_machine_warning(machine),
        "## Goals",
        "",
        *goals_table(cases),
        "",
    ]
    nproc = machine.get("vyr", {}).get("nproc")
    if nproc is not None and nproc != 2:
        lines += [f"This machine has {nproc} cores; the throughput goal is stated for 2.", ""]
    for group in GROUP_ORDER + sorted(set(by_group) - set(GROUP_ORDER)):
        if group not in by_group:
            continue
        lines += [f"## {GROUP_TITLES.get(group, group)}", ""]
        lines += [*(separate or {}).get(group, []), *group_table(by_group[group], cases), ""]
        needs, notes = NOTES.get(group, ((), lambda _: []))
        if needs and all(key in cases for key in needs):
            lines += [*notes(cases), ""]
    lines += [METHOD, ""]
    return "\n".join(lines)
