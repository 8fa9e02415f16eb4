"""The demo's start-latency section: a warm VYR task next to starting a process and a container.

Everything is measured in this run, on this machine; nothing is a quoted figure. A baseline that
cannot be measured here (no runc, not root) is printed as "not measured: <reason>".
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import vyr

RUNS = 30
CONTAINER_RUNS = 10


@dataclass(frozen=True)
class Measured:
    """One row: a label and its start latencies in seconds (empty with `skipped` set)."""

    label: str
    samples: tuple[float, ...] = ()
    skipped: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def warm_task(node: vyr.Runtime, digest: str) -> tuple[Measured, Measured]:
    """Start latency of a task whose artifact is already verified and compiled: from submission
    to the guest's entry (the node's own phase timestamps), and the whole `node.run` call."""
    node.run(digest, b"warm-up")  # the first run of an artifact may still wait for its code
    starts, whole = [], []
    for _ in range(RUNS):
        begun = time.perf_counter()
        result = node.run(digest, b"hello")
        whole.append(time.perf_counter() - begun)
        if not result.ok:
            raise SystemExit(f"hello failed: {result.status}: {result.reason}")
        starts.append((result.phases.started - result.phases.queued) / 1e9)
    return (
        Measured("VYR warm task: submit -> guest _start", tuple(starts)),
        Measured("VYR warm task: whole run of hello (submit -> result)", tuple(whole)),
    )


def processes(native_hello: Path) -> list[Measured]:
    """fork/exec/wait of /bin/true, and of the same hello program built natively."""
    rows = [_timed("process: /bin/true via subprocess.run", lambda: _spawn(["/bin/true"]))]
    if native_hello.exists():
        rows.append(
            _timed("process: hello.native via subprocess.run", lambda: _spawn([str(native_hello)]))
        )
    else:
        rows.append(Measured("process: hello.native", skipped=f"{native_hello} is not built"))
    return rows


def container(native_hello: Path) -> Measured:
    """`runc run` of a bundle whose rootfs holds only the static native hello."""
    label = "container: runc run (static hello, no image)"
    runc = shutil.which("runc")
    if runc is None:
        return Measured(label, skipped="runc is not installed (`make bench-deps` installs it)")
    if os.geteuid() != 0:
        return Measured(label, skipped="runc containers need root here")
    if not native_hello.exists():
        return Measured(label, skipped=f"{native_hello} is not built")
    with tempfile.TemporaryDirectory(prefix="vyr-demo-runc-") as scratch:
        bundle = Path(scratch)
        _make_bundle(runc, bundle, native_hello)
        names = (f"vyr-demo-{os.getpid()}-{number}" for number in itertools.count())

        def run_one() -> None:
            _spawn([runc, "run", "--bundle", str(bundle), next(names)])

        try:
            return _timed(label, run_one, runs=CONTAINER_RUNS)
        except subprocess.CalledProcessError as error:
            reason = (error.stderr or b"").decode(errors="replace").strip().splitlines()
            return Measured(label, skipped=f"runc failed: {reason[-1] if reason else error}")


def _make_bundle(runc: str, bundle: Path, native_hello: Path) -> None:
    rootfs = bundle / "rootfs"
    rootfs.mkdir()
    shutil.copy(native_hello, rootfs / "hello")
    subprocess.run([runc, "spec"], cwd=bundle, check=True, capture_output=True)
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["process"]["args"] = ["/hello"]
    config["process"]["terminal"] = False
    config["root"]["readonly"] = True
    config_path.write_text(json.dumps(config))


def _spawn(argv: list[str]) -> None:
    subprocess.run(argv, input=b"hello", capture_output=True, check=True)


def _timed(label: str, start: Callable[[], None], runs: int = RUNS) -> Measured:
    start()  # warm-up: page cache, dynamic loader
    samples = []
    for _ in range(runs):
        begun = time.perf_counter()
        start()
        samples.append(time.perf_counter() - begun)
    return Measured(label, tuple(samples))


def report(rows: list[Measured]) -> None:
    """Prints one line per row: median and minimum, or why it was not measured."""
    width = max(len(row.label) for row in rows)
    print(f"{'what'.ljust(width)}  {'median':>10}  {'min':>10}  runs")
    for row in rows:
        if row.skipped:
            print(f"{row.label.ljust(width)}  not measured: {row.skipped}")
            continue
        print(
            f"{row.label.ljust(width)}  {_ms(row.median):>10}  {_ms(min(row.samples)):>10}  {len(row.samples)}"
        )
    start, run, process = rows[0], rows[1], rows[2]
    if not process.skipped:
        print(
            f"A warm task reaches its guest's _start {process.median / start.median:.0f}x sooner,"
            f" and a whole warm run of hello ends {process.median / run.median:.1f}x sooner,"
            " than /bin/true takes to start and exit as a process (medians above)."
        )
    box = rows[-1]
    if not box.skipped:
        print(
            f"A runc container of the native hello takes {box.median / run.median:.0f}x a whole warm run."
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"
