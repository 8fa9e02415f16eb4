"""Fixtures for the benchmarks: a signing key, the signed `hello` and `spin` guests, and
embedded nodes on temp homes that trust the key. Run with `make bench`; `pytest tests` never
collects this directory."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_support import open_node
from harness.guests import BUILD, Signed, sign_guests

HELLO_WASM = BUILD / "hello.wasm"
TRUST_SETTLE_S = 1.1
GUESTS_DIR = Path(__file__).resolve().parent / "guests"
# Built here: the endless loop and the no-op have no place among the reference workloads.
BUILT_GUESTS = ("spin", "noop")


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    """`hello.wasm` and `state-file.wasm` (copied from workloads/build), `spin.wasm` and `noop.wasm` (built here), signed."""
    sources = {name: GUESTS_DIR / f"{name}.c" for name in BUILT_GUESTS}
    return sign_guests(
        tmp_path_factory.mktemp("guests"),
        ("hello", "state-file", *BUILT_GUESTS),
        key_name="bench.key",
        sources=sources,
    )


@pytest.fixture
def node(tmp_path: Path, signed: Signed) -> Iterator[Any]:
    """A fresh embedded node (default limits: one worker per core) with both guests put."""
    runtime = open_node(tmp_path / "home", signed)
    trusted_at = time.monotonic()
    for name in ("hello", "state-file", *BUILT_GUESTS):
        runtime.put_module_file(signed.module(name))
    # The trust store re-reads its directory on every submit until the directory has been
    # unchanged for 1 s (mtime granularity); measure the steady state a node lives in.
    time.sleep(max(0.0, TRUST_SETTLE_S - (time.monotonic() - trusted_at)))
    yield runtime
    runtime.close()


@pytest.fixture
def digests(node: Any, signed: Signed) -> dict[str, str]:
    """Artifact digest per guest name."""
    from vyr import _core

    return {
        name: _core.sha256_digest(signed.module(name).read_bytes())
        for name in ("hello", "state-file", *BUILT_GUESTS)
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


_SESSION: dict[str, str] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION["loadavg_start"] = _loadavg()


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    """Adds what `python -m benchmarks.report` prints about the machine and how busy it was."""
    import vyr
    import wasmtime

    machine_info["vyr"] = {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "vyr_version": vyr.__version__,
        "wasmtime_package": getattr(wasmtime, "__version__", _package_version("wasmtime")),
        "hello_wasm_bytes": HELLO_WASM.stat().st_size if HELLO_WASM.exists() else None,
        "loadavg_start": _SESSION.get("loadavg_start", "unknown"),
        "loadavg_end": _loadavg(),
    }


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
