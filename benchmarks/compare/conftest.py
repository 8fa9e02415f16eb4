"""Fixtures for the VYR-versus-containers comparison (issue 6): the signed guests, the
workload inputs, the five systems (started once per session and always stopped) and the
record list written to `docs/data/benchmarks.json` at the end.

    pytest benchmarks/compare --compare-profile quick|full [--compare-json PATH]

Run by `make bench` / `make bench-quick`; `pytest tests` never collects it."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.compare.compare_measure import PROFILES, Profile, Records
from benchmarks.compare.compare_systems import (
    ContainerdSystem,
    NativeSystem,
    VyrSystem,
    WasmtimePySystem,
    Workload,
)
from harness import REPO
from harness.daemon import Daemon, start_daemon
from harness.guests import sign_guests

GUESTS = ("hello", "event-transform", "anomaly", "state-file")
DEFAULT_JSON = REPO / "docs" / "data" / "benchmarks.json"
CACHE = Path(os.environ.get("VYR_BENCH_CACHE", Path.home() / ".cache" / "vyr-bench"))
EVENTS = 1000
LONG_COUNT = 10**12  # an anomaly run that outlives every deadline here


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vyr-compare")
    group.addoption("--compare-profile", choices=sorted(PROFILES), default="quick")
    group.addoption("--compare-json", type=Path, default=DEFAULT_JSON)


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "hostname": platform.node(),
        "cpu_model": cpu,
        "nproc": os.cpu_count(),
        "memory_bytes": int(memory) * 1024,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "loadavg_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "absent"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Profile:
    return PROFILES[request.config.getoption("--compare-profile")]


@pytest.fixture(scope="session")
def records(request: pytest.FixtureRequest, profile: Profile) -> Iterator[Records]:
    from importlib.metadata import version

    import vyr

    machine = _machine()
    machine["versions"] = {
        "vyr": vyr.__version__,
        "wasmtime_package": version("wasmtime"),
        "containerd": _tool_version(["containerd", "--version"]),
        "runc": _tool_version(["runc", "--version"]),
        "buildah": _tool_version(["buildah", "--version"]),
    }
    found = Records(profile.name, machine)
    yield found
    machine["loadavg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    machine["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    path: Path = request.config.getoption("--compare-json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(found.items, indent=1) + "\n")


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compare")


@pytest.fixture(scope="session")
def guests(scratch: Path) -> tuple[Path, Path]:
    """(directory of signed copies of the guests and their native builds, the signing key)."""
    signed = sign_guests(scratch / "guests", GUESTS, key_name="bench.key", native=True)
    return signed.directory, signed.key


@pytest.fixture(scope="session")
def workloads(scratch: Path, profile: Profile) -> dict[str, Workload]:
    events = scratch / "events"
    subprocess.run(
        [sys.executable, str(REPO / "workloads" / "gen_events.py"), "events", "--seed", "1",
         "--count", str(EVENTS), "--out", str(events)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return {
        "hello": Workload("hello", "hello", (), b"hello, vyr\n"),
        "event-transform": Workload(
            "event-transform",
            "event-transform",
            (),
            (events / "events.ndjson").read_bytes(),
            events / "lookup",
        ),
        "anomaly": Workload("anomaly", "anomaly", ("--count", str(profile.cpu_count))),
        "anomaly-long": Workload("anomaly-long", "anomaly", ("--count", str(LONG_COUNT))),
    }


@pytest.fixture(scope="session")
def native(guests: tuple[Path, Path]) -> Iterator[NativeSystem]:
    system = NativeSystem(guests[0])
    yield system
    for child in system.children:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.fixture(scope="session")
def expected(native: NativeSystem, workloads: dict[str, Workload]) -> dict[str, bytes]:
    """The native build's stdout per workload: every system must produce the same bytes."""
    outputs = {}
    for key, workload in workloads.items():
        if key != "anomaly-long":
            outcome = native.run(workload)
            assert outcome.status == "ok", (key, outcome)
            outputs[key] = outcome.stdout
    return outputs


@pytest.fixture(scope="session")
def vyr_embedded(guests: tuple[Path, Path], scratch: Path) -> Iterator[VyrSystem]:
    import vyr
    from vyr.keys import read_public_key

    # max_running 64 (the core's default): tasks in flight all run, as on the daemon.
    home = scratch / "vyr-embedded"
    node = vyr.Runtime(home=home, state_linger_s=3600.0, max_running=64)
    node.trust_add(read_public_key(guests[1].with_name("bench.key.pub")))
    time.sleep(1.1)  # the trust store stops re-reading its directory once it is 1 s old
    yield VyrSystem("vyr-embedded", node, home, guests[0], guests[1], [os.getpid()])
    node.close()


@pytest.fixture(scope="session")
def vyr_daemon_process(scratch: Path) -> Iterator[Daemon]:
    daemon = start_daemon(scratch / "vyr-daemon")
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def vyr_daemon(vyr_daemon_process: Daemon, guests: tuple[Path, Path]) -> Iterator[VyrSystem]:
    import vyr
    from vyr.keys import read_public_key

    client = vyr.Client(vyr_daemon_process.endpoint)
    client.trust_add(read_public_key(guests[1].with_name("bench.key.pub")))
    time.sleep(1.1)
    yield VyrSystem(
        "vyr-daemon",
        client,
        vyr_daemon_process.home,
        guests[0],
        guests[1],
        [vyr_daemon_process.process.pid],
    )
    client.close()


@pytest.fixture(scope="session")
def wasmtime_py(guests: tuple[Path, Path], scratch: Path) -> WasmtimePySystem:
    return WasmtimePySystem(guests[0], scratch / "wasmtime-py")


@pytest.fixture(scope="session")
def containerd(guests: tuple[Path, Path], scratch: Path) -> Iterator[ContainerdSystem]:
    from benchmarks.baseline import containerd as containerd_daemon
    from benchmarks.baseline import images

    if missing := containerd_daemon.missing_tools():
        pytest.skip(f"containerd baseline: not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("containerd baseline: needs root")
    binaries = {guest: guests[0] / f"{guest}.native" for guest in ("hello", "event-transform",
                                                                     "anomaly")}  # fmt: skip
    built = images.build_all(CACHE, binaries, typical=shutil.which("debootstrap") is not None)
    by_key = {("debian" if image.variant == "debian" else image.ref.split("/")[1].split(":")[0]):
              image for image in built}  # fmt: skip
    daemon = containerd_daemon.start(fresh=True)
    try:
        yield ContainerdSystem(daemon, by_key, scratch / "containerd")
    finally:
        daemon.stop()
        shutil.rmtree(daemon.base, ignore_errors=True)  # imported images: ~150 MB


@pytest.fixture
def system(request: pytest.FixtureRequest) -> Any:
    """The system named by the test's `system_name` parameter."""
    return request.getfixturevalue(
        request.param.replace("-", "_").replace("containerd_runc", "containerd")
    )
