"""The notes under each micro-benchmark group's table: what the figures mean, the phase
breakdowns, and the goals of issues 3 (daemon) and 4 (telemetry)."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.report.cases import Cases
from benchmarks.report.markdown import duration, factor, row, table


def phase_table(phases: dict[str, float], median_s: float) -> list[str]:
    """The core's phase gaps (medians, µs) and what remains of the measured median."""
    inside = phases["queued_to_ended"]
    header = [
        "queued → artifact ready",
        "→ instantiated",
        "→ `_start` looked up",
        "→ ended (the guest runs)",
        "queued → ended",
        "rest of the median (Python facade, submit, wake-up, result)",
    ]
    values = [
        phases["queued_to_artifact_ready"],
        phases["artifact_ready_to_instantiated"],
        phases["instantiated_to_started"],
        phases["started_to_ended"],
        inside,
        median_s * 1e6 - inside,
    ]
    return table(header, [[f"{value:.1f}" for value in values]])


def _warm_notes(c: Cases) -> list[str]:
    vyr, package = c["warm_vyr"], c["warm_wasmtime_package"]
    notes = [
        (
            f"VYR is **{factor(package.median / vyr.median)} faster** than the `wasmtime` "
            f"package at "
            f"the median ({factor(package.p(0.99) / vyr.p(0.99))} at p99)."
        )
    ]
    if "phases_median_us" in vyr.extra:
        notes += [
            "",
            "Where a warm VYR task's time goes, in µs (medians of the core's phase timestamps):",
            "",
            *phase_table(vyr.extra["phases_median_us"], vyr.median),
        ]
    busy = c.get("warm_vyr_busy_neighbour")
    if busy is not None and "phases_median_us" in busy.extra:
        notes += [
            "",
            (
                f"The same call with another process spinning on one core: p50 "
                f"{duration(busy.p(0.5))}, against {duration(vyr.p(0.5))} without it. A task "
                "crosses threads twice (caller to worker, worker back to the caller); on a "
                "VM whose vCPUs are idle, each hand-off first waits for a halted vCPU to wake, "
                "which a busy core spares. Phases with the neighbour, in µs:"
            ),
            "",
            *phase_table(busy.extra["phases_median_us"], busy.median),
        ]
    return notes


def _throughput_notes(c: Cases) -> list[str]:
    case = c["throughput_vyr"]
    submit = case.extra["submit_loop_median_s"]
    return [
        (
            f"**{case.extra['tasks_per_s']:,.0f} tasks/s** with {case.extra.get('workers')} worker "
            f"threads, {case.extra['tasks']} tasks per round. The submit loop alone took "
            f"{duration(submit)} of the median round ({duration(submit / case.extra['tasks'])} per "
            "`submit_task`, while the workers already run the first tasks on the same two cores)."
        )
    ]


def _digest_notes(c: Cases) -> list[str]:
    vyr, base = c["digest_vyr"], c["digest_hashlib"]
    return [
        (
            f"VYR {vyr.extra['mib_per_s']:,.0f} MiB/s, "
            f"hashlib {base.extra['mib_per_s']:,.0f} MiB/s "
            f"({base.extra.get('openssl', 'OpenSSL')})."
        )
    ]


def _cold_notes(c: Cases) -> list[str]:
    put = c["cold_vyr"].extra["put_median_s"]
    notes = [
        (
            f"Of the cold VYR case, `put_module_file` (read, hash, verify, compile, fsync'd store) "
            f"took {duration(put)} at the median; the rest is the first run."
        )
    ]
    restart = c.get("restart_vyr")
    if restart is not None and "phases_median_us" in restart.extra:
        notes += [
            "",
            (
                "The first run after a restart, in µs (artifact ready = read from disk, digest "
                "and "
                "signature re-checked, compiled code loaded from the cache):"
            ),
            "",
            *phase_table(restart.extra["phases_median_us"], restart.median),
        ]
    return notes


def _stop_notes(c: Cases) -> list[str]:
    notes = [
        (
            "Overshoot: when the result is back in Python, minus the deadline (or the moment "
            "`cancel()` was called). The core columns use the task's `ended` timestamp instead. "
            "The "
            "table above times the whole call, so the deadline rows include the 20 ms the loop "
            "may run."
        ),
        "",
        "| stop | node | overshoot p50 | p99 | max | core p50 | core p99 | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, case in sorted(c.items()):
        if not key.startswith("stop_"):
            continue
        user, core = case.extra["overshoot"], case.extra["overshoot_core"]
        cells = [
            case.extra["stop"],
            case.extra["load"],
            *(duration(user[name]) for name in ("p50_s", "p99_s", "max_s")),
            *(duration(core[name]) for name in ("p50_s", "p99_s")),
            str(user["samples"]),
        ]
        notes.append(row(cells))
    notes += ["", "`busy`: two other endless loops keep both workers (both cores) busy."]
    return notes


def _cli_notes(c: Cases) -> list[str]:
    own = c["cli_help"].median - c["cli_python"].median
    return [f"`vyr --help` costs {duration(own)} on top of starting the interpreter (medians)."]


def _daemon_notes(c: Cases) -> list[str]:
    """Issue 3's goals for the Control API, from the same run's VYR and echo cases."""
    vyr, echo = c["daemon_round_trip_vyr"], c["daemon_round_trip_echo"]
    ratio = vyr.p(0.5) / echo.p(0.5)
    lines = [
        "| goal (issue 3) | measured | |",
        "| --- | --- | --- |",
        (
            f"| p50 round trip ≤ 1.5× the echo floor | {factor(ratio)} (p50 {duration(vyr.p(0.5))} vs "
            f"{duration(echo.p(0.5))}; p99 {duration(vyr.p(0.99))} vs {duration(echo.p(0.99))}) | "
            f"{'met' if ratio <= 1.5 else '**not met**'} |"
        ),
    ]
    sixteen = c.get("daemon_throughput_vyr_16")
    if sixteen is not None:
        rate = sixteen.extra["tasks_per_s"]
        floor = c.get("daemon_throughput_echo_16")
        versus = f" (echo floor {floor.extra['tasks_per_s']:,.0f} calls/s)" if floor else ""
        lines.append(
            f"| ≥ 3,000 tasks/s with 16 in flight | {rate:,.0f} tasks/s{versus} | "
            f"{'met' if rate >= 3000 else '**not met**'} |"
        )
    bare, bare_rate = c.get("daemon_round_trip_floor"), c.get("daemon_throughput_floor_16")
    if bare is not None and bare_rate is not None:
        lines += [
            "",
            f"The floor for any grpc.aio daemon over this runtime (`benchmarks/daemon_floor.py`: "
            f"`SubmitTask` answered by submitting to `vyr.Runtime` and waking the call when the "
            f"task ends, with no journal, authentication, limits or telemetry), same run: p50 "
            f"{duration(bare.p(0.5))} ({factor(bare.p(0.5) / echo.p(0.5))} the echo) and "
            f"{bare_rate.extra['tasks_per_s']:,.0f} tasks/s with 16 in flight. The throughput "
            f"goal is above that floor on this machine, and the latency goal leaves the daemon "
            f"{duration(max(0.0, 1.5 * echo.p(0.5) - bare.p(0.5)))} over it for everything it "
            f"must do per task (authentication, the call limit, two journal commits, telemetry, "
            f"output digests). The gap between the floor and the echo is the task itself (a "
            f"hand-off to a worker thread, instantiate and run, the wake-up) on two cores that "
            f"the clients share.",
        ]
    lines += [
        "",
        "A round trip is one `SubmitTask` call with `wait` (what `Client.run` sends: the task "
        "comes back once its end is in the journal); the floor is one call of the same request "
        "and response sizes to a bare grpc.aio echo server, made the same way. Throughput keeps "
        "N calls in flight on one grpc.aio channel; the `daemon_threads_*` rows use "
        "synchronous clients from 16 threads (`vyr.Client.run`). The daemon, the echo server "
        "and the clients share the machine's cores.",
        "",
        "Where the daemon's time goes (py-spy, 16 in flight, 2026-11-27 16:00): on the event-loop "
        "thread, over half of the busy samples are grpc.aio's own (Cython) per-call work and "
        "about a quarter the servicer's submit path; the journal and telemetry threads are "
        "mostly sampled waiting on their queues. Switching the telemetry streams off, "
        "removing the interceptors or not waiting for the accepted row's commit did not move "
        "the figures beyond this machine's run-to-run noise.",
    ]
    return lines


def _telemetry_notes(c: Cases) -> list[str]:
    """Issue 4's throughput goals, from the paired rounds (each instrumented round next to the
    same batch on an uninstrumented node)."""
    lines = ["| goal (issue 4) | measured | |", "| --- | --- | --- |"]
    for key, what in (
        ("telemetry_off", "tracing off"),
        ("telemetry_sampled_1pct", "sampled at 1 %"),
    ):
        case = c.get(key)
        if case is not None and "overhead_ratio" in case.extra:
            ratio = case.extra["overhead_ratio"]
            lines.append(
                f"| {what} within 5 % of uninstrumented | {factor(ratio)} the paired uninstrumented "
                f"rounds ({case.extra['tasks_per_s']:,.0f} tasks/s) | {'met' if ratio <= 1.05 else '**not met**'} |"
            )
    full, paced = c.get("telemetry_full"), c.get("telemetry_paced")
    if full is not None:
        rate = full.extra["tasks_per_s"]
        lines.append(
            f"| fully sampled ≥ 2,000 traced tasks/s exported | {rate:,.0f} traced tasks/s, "
            f"{full.extra.get('spans_dropped', '?')} spans dropped | {'met' if rate >= 2000 else '**not met**'} |"
        )
    if paced is not None:
        dropped = paced.extra.get("spans_dropped")
        lines.append(
            f"| nothing dropped at that paced load | {paced.extra.get('spans_received', '?')} of "
            f"{paced.extra.get('spans_expected', '?')} spans received, {dropped} dropped | "
            f"{'met' if dropped == 0 else '**not met**'} |"
        )
    lines += [
        "",
        '"Off" is a node with no exporter configured (no hook on the hot path), paired with an '
        "identical node: its ratio shows the pairing's own noise. The receiver is the test "
        "suite's OTLP/gRPC receiver, in its own process.",
    ]
    return lines


# group -> (the cases its notes need, the notes)
NOTES: dict[str, tuple[tuple[str, ...], Callable[[Cases], list[str]]]] = {
    "warm-task": (("warm_vyr", "warm_wasmtime_package"), _warm_notes),
    "throughput": (("throughput_vyr",), _throughput_notes),
    "digest": (("digest_vyr", "digest_hashlib"), _digest_notes),
    "cold-start": (("cold_vyr",), _cold_notes),
    "stop-latency": (("stop_deadline_idle",), _stop_notes),
    "cli": (("cli_help", "cli_python"), _cli_notes),
    "daemon": (("daemon_round_trip_vyr", "daemon_round_trip_echo"), _daemon_notes),
    "telemetry-throughput": (("telemetry_off",), _telemetry_notes),
}
