"""The comparison part of `docs/benchmarks.md` (issue 6), in the marked block after the
micro-benchmarks or as a page of its own (`make bench-quick`): the tables and charts, the goals,
the method and what is cited rather than measured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report.charts import charts
from benchmarks.report.comparison import (
    cold_table,
    goals,
    load,
    memory_table,
    size_table,
    stop_table,
    throughput_table,
    warm_table,
)
from benchmarks.report.markdown import shown_path, size
from harness import REPO

DATA = REPO / "docs" / "data" / "benchmarks.json"
IMG_DIR = REPO / "docs" / "img"

REPRODUCE = """\
```sh
make bench          # full profile (this page); installs containerd, runc, buildah, debootstrap
make bench-quick    # quick profile, ≤ 3 min, writes build/bench-quick/ instead of docs/
# what they run, after starting nothing by hand:
.venv/bin/python -m pytest benchmarks/compare -p no:cacheprovider --compare-profile full \\
    --compare-json docs/data/benchmarks.json
.venv/bin/python -m benchmarks.report
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


def machine_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    """The machine, the versions, the load average, and a warning when it was shared."""
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
            f"Generated by `python -m benchmarks.report` from `{shown_path(data)}` (raw "
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
