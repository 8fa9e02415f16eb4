"""The comparison sections of `docs/benchmarks.md` (issue 6), from `docs/data/benchmarks.json`:
tables, PNG charts (matplotlib, into docs/img/), goals as ratios, the method and what is cited
rather than measured. `sections()` returns them as Markdown lines. Run as a script it either
splices them into an existing page between two marker comments (after `benchmarks/report.py`
has rewritten `docs/benchmarks.md`, what `make bench` does) or writes a standalone page (what
`make bench-quick` does):

    python benchmarks/compare/compare_report.py --splice docs/benchmarks.md
    python benchmarks/compare/compare_report.py [--input JSON] [--output MD] [--img-dir DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "docs" / "data" / "benchmarks.json"
IMG_DIR = REPO / "docs" / "img"
SYSTEMS = ("vyr-embedded", "vyr-daemon", "containerd-runc", "wasmtime-py", "native")
COLORS = {"vyr-embedded": "#1f77b4", "vyr-daemon": "#6baed6", "containerd-runc": "#d62728",
          "wasmtime-py": "#2ca02c", "native": "#7f7f7f"}  # fmt: skip

SLO_URL = "https://github.com/kubernetes/community/blob/master/sig-scalability/slos/pod_startup_latency.md"
JOB_URL = (
    "https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup"
)
GRACE_URL = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination"
CITED_STARTUP = f"pod startup SLO: p99 ≤ 5 s per cluster-day, stateless pods, image pull excluded ([SLO]({SLO_URL}))"
CITED_STOP = (
    f"default `terminationGracePeriodSeconds` 30 s before SIGKILL ([pod termination]({GRACE_URL}))"
)

REPRODUCE = """\
```sh
make bench          # full profile (this page); installs containerd, runc, buildah, debootstrap
make bench-quick    # quick profile, ≤ 3 min, writes build/bench-quick/ instead of docs/
# what they run, after starting nothing by hand:
.venv/bin/python -m pytest benchmarks/compare -p no:cacheprovider --compare-profile full \\
    --compare-json docs/data/benchmarks.json
.venv/bin/python benchmarks/report.py
```
The harness starts its own containerd (root, state and socket under
`/tmp/vyr-bench-containerd`) and a `vyr daemon` on a temporary home, and stops both at the end.
Images are built with buildah into `~/.cache/vyr-bench` (override with `VYR_BENCH_CACHE`)."""

GOAL_NOTES = """\
How to read the goals: `hello` does almost nothing, so its ratios measure what each system
costs per task. `event-transform` spends milliseconds in the guest itself (the native binary
needs about as long as the Wasm runs), so its ratios are bounded by that work and by how fast
Wasm runs the C code; they are shown because they are what a user of this workload would see,
not because a runtime could make them 1,000×. Memory ratios depend on the guest too: `anomaly`
touches little memory, so the per-task figure is mostly the runtime's own per-task cost
(for containerd: a shim and a runc-created process per task).

VYR's in-process latency is the figure most sensitive to load: a task crosses threads (submit,
worker, wake-up), and on two busy cores each hand-off waits for the scheduler, while the
`wasmtime` package runs the guest in the calling thread. The last column gives the run before
this one (`docs/data/benchmarks-previous.json`); a verdict that differs between the two is
within this machine's run-to-run noise, not settled."""

COLD_NOTES = """\
A VYR cold start is almost all `put`: reading, hashing and verifying the signed module, then
compiling it with Winch, wasmtime's single-pass baseline compiler, while the artifact is stored
(fsync'd). The first run uses Winch's code; Cranelift compiles the module on a background thread
and its code replaces Winch's for later tasks and goes to the disk cache (each round waits for
that, untimed, so no compile overlaps the next measurement). Winch still has Cranelift build the
host/Wasm trampolines, about half of the remaining compile time. wasmtime-py pays a full
Cranelift compile. A registry pull, which the cited SLO also excludes, would come on top of
every container figure."""

MEMORY_NOTES = """\
RSS per task is the primary figure. PSS of a process also moves when other processes that
share its libraries start or stop (other engineers run the same virtualenv on this machine), so
a small PSS difference for the in-process systems is noise, not per-task memory."""

STOP_NOTES = """\
The job runner kills with SIGKILL at once; a Kubernetes Job that hits `activeDeadlineSeconds`
or is deleted has its pod terminated with SIGTERM first and SIGKILL only after the grace period
(cited column), after the Job controller and kubelet have noticed: none of that is measured."""

METHOD = """\
### Method

- **Systems**: `vyr-embedded` (`vyr.Runtime` in the benchmark process), `vyr-daemon`
  (`vyr.Client` → `vyr daemon` over a unix socket), `containerd-runc` (the job runner in
  `benchmarks/baseline/jobs.py`: one new container per task through `ctr run --rm`, runc, input
  directory bind-mounted read-only, stdout/stderr collected, exit status recorded,
  `activeDeadlineSeconds` enforced by SIGKILL, no retries), `wasmtime-py` (the `wasmtime` PyPI
  package: Engine and Module once, Store + WasiConfig + Linker + `_start` per task, epoch
  interruption on for deadlines and cancel) and `native` (the static musl binary as a child
  process). Every task's stdout is checked byte for byte against the native build's.
- **Images**: `buildah from scratch` + the static binary + a 25-line `stdin-from` entrypoint
  (gzip layers, committed to an OCI archive, `ctr images import`), and one typical image from a
  `debootstrap --variant=minbase` bookworm tree (docs, man pages and apt lists removed).
- **Workloads**: `hello` (11 bytes in), `event-transform` (1,000 generated events, device
  table as a read-only state / bind mount / preopened directory), `anomaly` (CPU-bound; an
  endless run for memory and stop latency).
- **Cold start**: a never-seen artifact or image, through first output, on a running node:
  VYR puts a new signed variant of the module (an extra custom section changes its digest, so
  verification and compilation happen again) and runs it; wasmtime-py compiles and
  runs; containerd imports the OCI archive (the image was removed and garbage-collected first;
  no registry: the most favourable case) and runs the job; native execs a fresh copy.
- **Warm latency**: one task at a time after warm-up; p50/p99 are nearest-rank over the rounds.
- **Throughput**: closed loop with 1, 2 or 8 tasks in flight (one Python thread each), median
  over rounds; tasks/s = tasks per round / median round time.
- **Memory per task**: 8 endless `anomaly` tasks at once; (peak − idle) of the system's
  processes / 8, sampled from /proc every 20 ms. containerd counts containerd, its shims and the
  containers, not the `ctr` clients (the kubelet's side). RSS counts shared pages in every
  process; PSS divides them. **Idle**: the daemon's own RSS (vyr-daemon, containerd) or what
  the runtime adds to a fresh Python process with the three guests loaded (embedded ones).
- **CPU-bound**: `anomaly --count N`, whole task; the systems take turns within each round so
  that load from other work falls on all alike. **Cancel**: 200 ms after submission, until the
  caller has the final status. **Deadline**: 1 s (the smallest `activeDeadlineSeconds`),
  overshoot = end seen by the caller − (submission + 1 s).
- **Not measured**: the Kubernetes control plane (API write, scheduler, kubelet sync, pause
  container, CNI); registry pulls; CRI (the runner calls `ctr`, a Go CLI started per task,
  ~10 ms of each container task here). Figures for those are cited, in their own column."""


def load(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text()))


def pick(records: Sequence[dict[str, Any]], **where: Any) -> list[dict[str, Any]]:
    return [r for r in records if all(r.get(k) == v for k, v in where.items())]


def value(records: Sequence[dict[str, Any]], **where: Any) -> float | None:
    found = pick(records, **where)
    return float(found[0]["value"]) if found else None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def size(count: float | None) -> str:
    if count is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:.0f} B"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def times(x: float | None) -> str:
    return "—" if x is None else (f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×")


def _variant_label(record: dict[str, Any]) -> str:
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


def _latency_rows(records: Sequence[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    rows = []
    for r in pick(records, workload=workload, metric="warm_latency_p50_s"):
        where = {"system": r["system"], "workload": workload}
        if r.get("variant"):
            where["variant"] = r["variant"]
        rows.append({"label": _variant_label(r), "p50": r["value"],
                     "p99": value(records, metric="warm_latency_p99_s", **where),
                     "samples": r.get("samples")})  # fmt: skip
    return rows


def warm_table(records: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| workload | system | p50 | p99 | rounds | Kubernetes (cited, not measured) |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for workload in ("hello", "event-transform"):
        for row in _latency_rows(records, workload):
            cited = CITED_STARTUP if row["label"].startswith("containerd") else ""
            lines.append(f"| `{workload}` | {row['label']} | {duration(row['p50'])} | "
                         f"{duration(row['p99'])} | {row['samples']} | {cited} |")  # fmt: skip
    return lines


def cold_table(records: Sequence[dict[str, Any]]) -> list[str]:
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
            _variant_label(r),
            duration(r["value"]),
            duration(r.get("p99")),
            duration(r.get("min")),
            str(r.get("samples")),
            duration(r["put_median_s"]) if "put_median_s" in r else "",
            cited,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def throughput_table(records: Sequence[dict[str, Any]]) -> list[str]:
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
    lines = ["| workload | system | shipped artifact | on the node (stored + compiled / unpacked) |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for r in pick(records, metric="artifact_bytes"):
        where = {"system": r["system"], "workload": r["workload"], "metric": "stored_bytes"}
        if r.get("variant"):
            where["variant"] = r["variant"]
        stored = value(records, **where)
        label = "all three" if r["workload"] == "all" else f"`{r['workload']}`"
        lines.append(f"| {label} | {_variant_label(r)} | {size(r['value'])} | "
                     f"{size(stored) if stored is not None else size(r['value'])} |")  # fmt: skip
    return lines


def stop_table(records: Sequence[dict[str, Any]]) -> list[str]:
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


# -- charts --------------------------------------------------------------------------------------


def charts(records: Sequence[dict[str, Any]], img_dir: Path) -> list[str]:
    """Writes the PNGs; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def bars(name: str, title: str, rows: list[tuple[str, float, str]], unit: str) -> None:
        if not rows:
            return
        figure, axes = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
        labels = [label for label, _, _ in rows]
        axes.barh(labels, [v for _, v, _ in rows], color=[c for _, _, c in rows])
        axes.set_xscale("log")
        axes.invert_yaxis()
        axes.set_xlabel(unit + " (log scale)")
        axes.set_title(title)
        for index, (_, v, _) in enumerate(rows):
            axes.text(v, index, " " + (duration(v) if unit == "seconds" else size(v)),
                      va="center", fontsize=8)  # fmt: skip
        figure.tight_layout()
        figure.savefig(img_dir / name, dpi=110)
        plt.close(figure)
        written.append(name)

    warm_rows = [(f"{row['label']} · {w}", row["p50"], COLORS[row["label"].split(" ")[0]])
                 for w in ("hello", "event-transform") for row in _latency_rows(records, w)]  # fmt: skip
    bars("bench-warm-latency.png", "Warm task latency, p50", warm_rows, "seconds")
    cold_rows = [(_variant_label(r), r["value"], COLORS[r["system"]])
                 for r in pick(records, metric="cold_start_s")]  # fmt: skip
    bars("bench-cold-start.png", "Cold start (never-seen artifact or image), median", cold_rows,
         "seconds")  # fmt: skip
    mem_rows = [(s, v, COLORS[s]) for s in SYSTEMS
                if (v := value(records, system=s, metric="peak_rss_per_task_bytes"))]  # fmt: skip
    bars("bench-memory-per-task.png", "Peak RSS per concurrent task (8 in flight)", mem_rows,
         "bytes")  # fmt: skip

    found = pick(records, metric="throughput_per_s", workload="hello")
    if found:
        figure, axes = plt.subplots(figsize=(7, 4))
        for system in SYSTEMS:
            points = sorted((r["in_flight"], r["value"]) for r in found if r["system"] == system)
            if points:
                axes.plot([k for k, _ in points], [v for _, v in points], marker="o",
                          label=system, color=COLORS[system])  # fmt: skip
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks([1, 2, 8], ["1", "2", "8"])
        axes.set_xlabel("tasks in flight")
        axes.set_ylabel("tasks/s (log scale)")
        axes.set_title("Throughput, hello")
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(img_dir / "bench-throughput.png", dpi=110)
        plt.close(figure)
        written.append("bench-throughput.png")
    return written


# -- the page ------------------------------------------------------------------------------------


def machine_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    if not records:
        return []
    machine = records[0].get("machine", {})
    versions = machine.get("versions", {})
    loads = [machine.get("loadavg_start", "?"), machine.get("loadavg_end", "?")]
    busy = max(float(x.split()[0]) for x in loads if x != "?") if "?" not in loads else None
    lines = [
        (
            f"- profile **{records[0].get('profile')}**, {machine.get('started_at')} → "
            f"{machine.get('finished_at')}"
        ),
        (
            f"- {machine.get('cpu_model')}, nproc = {machine.get('nproc')}, "
            f"{size(machine.get('memory_bytes'))} RAM, kernel {machine.get('kernel')}, Python "
            f"{machine.get('python')}"
        ),
        (
            f"- VYR {versions.get('vyr')}, `wasmtime` package {versions.get('wasmtime_package')}; "
            f"{versions.get('containerd')}; {versions.get('runc')}; {versions.get('buildah')}"
        ),
        f"- load average (1/5/15 min): {loads[0]} at the start, {loads[1]} at the end",
    ]
    nproc = machine.get("nproc") or 1
    if busy is not None and busy >= 0.75 * nproc:
        lines += [
            "",
            (
                f"**This run was measured while the machine was shared** (1-minute load "
                f"average up to {busy:g} on {nproc} cores): other engineers' builds and "
                "tests competed for the CPUs, which inflates p99s, CPU-bound times and "
                "the container figures most (they need the most CPU per task). Ratios "
                "come from the same run, but read single figures as upper bounds."
            ),
        ]
    return lines


def sections(
    data: Path = DATA,
    img_dir: Path = IMG_DIR,
    doc_dir: Path = REPO / "docs",
    level: int = 2,
    previous: Path | None = None,
) -> list[str]:
    """Markdown lines for the comparison; empty when there is no data yet. `previous`: the
    records of the run before (default: `<data stem>-previous.json` beside `data`)."""
    if previous is None:
        previous = data.with_name(f"{data.stem}-previous.json")
    if not data.exists():
        return []
    records = load(data)
    h = "#" * level
    written = charts(records, img_dir)
    inside = img_dir.resolve().is_relative_to(doc_dir.resolve())
    prefix = f"{img_dir.resolve().relative_to(doc_dir.resolve())}/" if inside else f"{img_dir}/"
    image = {name: f"![{name}]({prefix}{name})" for name in written}
    return [
        f"{h} Comparison: VYR against the Kubernetes-Job container baseline (issue 6)",
        "",
        (
            f"Generated by `benchmarks/compare/compare_report.py` from `{_display(data)}` (raw "
            "records: system, workload, metric, value, unit, machine). Every ratio compares figures "
            "from the same run. Cited figures are in their own, labelled column and never enter a "
            "ratio."
        ),
        "",
        f"{h}# Reproduce",
        "",
        REPRODUCE,
        "",
        f"{h}# Machine",
        "",
        *machine_lines(records),
        "",
        f"{h}# Goals",
        "",
        *goals(records, load(previous) if previous is not None and previous.exists() else None),
        "",
        GOAL_NOTES,
        "",
        f"{h}# Warm task latency",
        "",
        *warm_table(records),
        "",
        image.get("bench-warm-latency.png", ""),
        "",
        f"{h}# Cold start",
        "",
        *cold_table(records),
        "",
        COLD_NOTES,
        "",
        image.get("bench-cold-start.png", ""),
        "",
        f"{h}# Throughput",
        "",
        *throughput_table(records),
        "",
        image.get("bench-throughput.png", ""),
        "",
        f"{h}# Memory",
        "",
        *memory_table(records),
        "",
        MEMORY_NOTES,
        "",
        image.get("bench-memory-per-task.png", ""),
        "",
        f"{h}# Artifact size",
        "",
        *size_table(records),
        "",
        f"{h}# CPU-bound work and stopping a task",
        "",
        *stop_table(records),
        "",
        STOP_NOTES,
        "",
        METHOD.replace("### ", f"{h}# "),
        "",
    ]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


BEGIN = "<!-- comparison: generated by benchmarks/compare/compare_report.py -->"
END = "<!-- end of comparison -->"


def splice(page: Path, lines: list[str]) -> None:
    """Replaces the marked block of `page` with `lines`, or appends it."""
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    page.write_text(head + "\n".join([BEGIN, "", *lines, END]) + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--img-dir", type=Path, default=None)
    parser.add_argument("--splice", type=Path, default=None, help="page to update in place")
    options = parser.parse_args()
    if options.splice is not None:
        img_dir = options.img_dir or options.splice.parent / "img"
        splice(options.splice, sections(options.input, img_dir, options.splice.parent))
        print(f"updated {options.splice}")
        return
    output = options.output or REPO / "build" / "bench-quick" / "benchmarks.md"
    img_dir = options.img_dir or output.parent / "img"
    lines = ["# Benchmarks: comparison", "", *sections(options.input, img_dir, output.parent)]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
