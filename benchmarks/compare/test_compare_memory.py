"""Memory: peak per concurrent task and the idle footprint of each runtime; artifact sizes on
disk. Memory is read from /proc (RSS, and PSS, which splits shared pages fairly)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.compare.compare_measure import SYSTEMS, Profile, Records, pss, rss, sample_memory
from benchmarks.compare.compare_systems import ContainerdSystem, NativeSystem, VyrSystem, Workload
from harness.daemon import start_daemon

PROBE = Path(__file__).resolve().parent / "footprint_probe.py"
SETTLE_S = 0.3


def _anomaly_processes() -> int:
    """How many `anomaly` processes (native or in containers) are alive."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("anomaly"):
                    count += 1
            except OSError:
                pass
    return count


@pytest.mark.timeout(600)
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_memory_per_task(
    benchmark: Any, system: Any, workloads: dict[str, Workload], profile: Profile,
    records: Records,
) -> None:  # fmt: skip
    """N endless anomaly tasks at once: (peak memory of the system's processes - the same
    processes just before) / N. For containerd: containerd + one shim and one container per
    task; the `ctr` clients (the kubelet's side) are not counted."""
    workload = workloads["anomaly-long"]
    system.prepare(workload)
    assert system.run(workloads["anomaly"]).status == "ok"  # the code path is warm
    time.sleep(SETTLE_S)
    idle_pids = system.memory_pids()
    idle_rss, idle_pss = rss(idle_pids), pss(idle_pids)
    count = profile.memory_in_flight
    handles = [system.start(workload) for _ in range(count)]
    try:
        deadline = time.monotonic() + 30
        if isinstance(system, (NativeSystem, ContainerdSystem)):
            while _anomaly_processes() < count and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _anomaly_processes() >= count, "not every task started"
        time.sleep(SETTLE_S)  # in-process systems: let every task instantiate
        peak_rss, peak_pss = benchmark.pedantic(
            sample_memory, args=(system.memory_pids, profile.memory_sample_s), rounds=1,
            iterations=1,
        )  # fmt: skip
    finally:
        for handle in handles:
            handle.cancel()
        for handle in handles:
            handle.wait()
    per_task_rss = max(0, peak_rss - idle_rss) / count
    per_task_pss = max(0, peak_pss - idle_pss) / count
    benchmark.group = "memory"
    benchmark.extra_info.update(system=system.name, in_flight=count, idle_rss=idle_rss,
                                peak_rss=peak_rss, idle_pss=idle_pss, peak_pss=peak_pss)  # fmt: skip
    records.add(system.name, "anomaly", "peak_rss_per_task_bytes", per_task_rss, "bytes",
                in_flight=count, idle_rss=idle_rss, peak_rss=peak_rss)  # fmt: skip
    records.add(system.name, "anomaly", "peak_pss_per_task_bytes", per_task_pss, "bytes",
                in_flight=count, idle_pss=idle_pss, peak_pss=peak_pss)  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_idle_footprint(
    system: Any, workloads: dict[str, Workload], guests: tuple[Path, Path], scratch: Path,
    records: Records,
) -> None:  # fmt: skip
    """RSS of the runtime when idle, its code for the three guests loaded and run once.

    Embedded runtimes are measured in a fresh Python process (what they add to it);
    vyr-daemon is a fresh daemon given the three guests, each run once (the session's
    long-lived daemon is recorded too, as `after_session_rss`); containerd is its own process
    after this session's tasks ended; native has no resident runtime."""
    if system.name in ("vyr-embedded", "wasmtime-py"):
        completed = subprocess.run(
            [sys.executable, str(PROBE), system.name, str(guests[0]),
             str(scratch / f"probe-{system.name}"), str(guests[1].with_name("bench.key.pub"))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        probe = json.loads(completed.stdout)
        value, extra = probe["after"] - probe["before"], {"python_process_rss": probe["after"]}
    elif system.name == "native":
        value, extra = 0, {"note": "no resident runtime"}
    elif system.name == "vyr-daemon":
        value, extra = _fresh_daemon_rss(workloads, guests, scratch / "idle-daemon")
        extra["after_session_rss"] = rss(system.memory_pids()[:1])
    else:
        for workload in ("hello", "event-transform", "anomaly"):
            system.prepare(workloads[workload])
        time.sleep(SETTLE_S)
        pids = [system.memory_pids()[0]]  # containerd itself, no shim is left
        value, extra = rss(pids), {"pss": pss(pids)}
    records.add(system.name, "idle", "idle_rss_bytes", value, "bytes", **extra)


def _fresh_daemon_rss(
    workloads: dict[str, Workload], guests: tuple[Path, Path], home: Path
) -> tuple[int, dict[str, Any]]:
    import vyr
    from vyr.keys import read_public_key

    daemon = start_daemon(home)
    try:
        with vyr.Client(daemon.endpoint) as client:
            client.trust_add(read_public_key(guests[1].with_name("bench.key.pub")))
            time.sleep(1.1)  # the trust store settles
            fresh = VyrSystem("vyr-daemon", client, home, guests[0], guests[1], [])
            for key in ("hello", "event-transform", "anomaly"):
                fresh.prepare(workloads[key])
                assert fresh.run(workloads[key]).status == "ok"
        time.sleep(SETTLE_S)
        pids = [daemon.process.pid]
        return rss(pids), {"pss": pss(pids)}
    finally:
        daemon.stop()


@pytest.mark.parametrize("system", SYSTEMS, indirect=True)
def test_artifact_size(
    system: Any, workloads: dict[str, Workload], guests: tuple[Path, Path], records: Records
) -> None:
    """What is shipped per workload: module + manifest + signature (VYR), the module
    (wasmtime-py), the static binary (native), the OCI image blobs, compressed as a registry
    holds them (containerd; `unpacked_bytes` is its root filesystem)."""
    directory = guests[0]
    for guest in ("hello", "event-transform", "anomaly"):
        wasm = directory / f"{guest}.wasm"
        if isinstance(system, VyrSystem):
            parts = [wasm, wasm.with_name(wasm.name + ".manifest.json"),
                     wasm.with_name(wasm.name + ".sig")]  # fmt: skip
            records.add(system.name, guest, "artifact_bytes", sum(p.stat().st_size for p in parts),
                        "bytes", module_bytes=wasm.stat().st_size)  # fmt: skip
            # On the node: the stored artifact plus its compiled code in the cache.
            system.prepare(workloads[guest])
            hex_digest = system.digests[guest].removeprefix("sha256:")
            stored = [
                *(system.home / "artifacts" / hex_digest).iterdir(),
                *(system.home / "cache" / "compiled").glob(f"*/{hex_digest}.cwasm"),
            ]
            records.add(system.name, guest, "stored_bytes", sum(p.stat().st_size for p in stored),
                        "bytes")  # fmt: skip
        elif system.name == "wasmtime-py":
            records.add(system.name, guest, "artifact_bytes", wasm.stat().st_size, "bytes")
        elif system.name == "native":
            native = directory / f"{guest}.native"
            records.add(system.name, guest, "artifact_bytes", native.stat().st_size, "bytes")
        else:
            image = system.images[guest]
            records.add(system.name, guest, "artifact_bytes", image.compressed_bytes, "bytes",
                        variant="scratch", unpacked_bytes=image.unpacked_bytes)  # fmt: skip
            # In containerd: the content store (compressed blobs) plus the unpacked snapshot.
            records.add(
                system.name,
                guest,
                "stored_bytes",
                image.compressed_bytes + image.unpacked_bytes,
                "bytes",
                variant="scratch",
            )
    if isinstance(system, ContainerdSystem) and "debian" in system.images:
        image = system.images["debian"]
        records.add(system.name, "all", "artifact_bytes", image.compressed_bytes, "bytes",
                    variant="debian", unpacked_bytes=image.unpacked_bytes)  # fmt: skip
        records.add(
            system.name,
            "all",
            "stored_bytes",
            image.compressed_bytes + image.unpacked_bytes,
            "bytes",
            variant="debian",
        )
