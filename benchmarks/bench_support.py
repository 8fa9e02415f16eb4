"""Helpers shared by the benchmark modules: opening a node, and the `wasmtime` PyPI package
baseline written the way a Python user would write it. Signed guests and percentiles come from
the shared harness (`harness.guests`, `harness.stats`)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import wasmtime

from benchmarks.wasmtime_package import run_command
from harness.guests import Signed


def open_node(home: Path, signed: Signed, **limits: Any) -> Any:
    """A `vyr.Runtime` on `home` that trusts the benchmark key."""
    import vyr

    node = vyr.Runtime(home=home, **limits)
    node.trust_add(signed.public_key)
    return node


class WasmtimePackageRunner:
    """Runs a WASI command per task with the `wasmtime` package.

    The Engine and Module are made once; each task gets its own Store, WasiConfig (stdin,
    stdout and stderr through files, the only byte I/O the package's WasiConfig offers for
    stdin), Linker, instantiation and `_start` call: what `tests/workloads` does, and what a
    user of the package writes. Unlike VYR it sets no memory cap, deadline or fuel.
    """

    def __init__(self, scratch: Path, engine: wasmtime.Engine | None = None) -> None:
        self.engine = engine or wasmtime.Engine()
        self.stdin = scratch / "stdin"
        self.stdout = scratch / "stdout"
        self.stderr = scratch / "stderr"

    def compile(self, module_bytes: bytes) -> wasmtime.Module:
        """Compiles with Cranelift (no cache)."""
        return wasmtime.Module(self.engine, module_bytes)

    def deserialize(self, path: Path) -> wasmtime.Module:
        """Loads code compiled and serialized earlier (the package's own compile cache)."""
        return wasmtime.Module.deserialize_file(self.engine, str(path))

    def run(
        self, module: wasmtime.Module, input_bytes: bytes, argv0: str = "hello"
    ) -> tuple[int, bytes]:
        """One task: (exit code, stdout)."""
        self.stdin.write_bytes(input_bytes)
        code = run_command(self.engine, module, [argv0], (self.stdin, self.stdout, self.stderr))
        return code, self.stdout.read_bytes()


def phase_medians(results: list[Any]) -> dict[str, float]:
    """Where tasks' time goes inside the core: medians of the gaps between phases, in µs."""
    gaps = {
        "queued_to_artifact_ready": ("queued", "artifact_ready"),
        "artifact_ready_to_instantiated": ("artifact_ready", "instantiated"),
        "instantiated_to_started": ("instantiated", "started"),
        "started_to_ended": ("started", "ended"),
        "queued_to_ended": ("queued", "ended"),
    }
    return {
        name: statistics.median((r.phases[end] - r.phases[begin]) / 1000 for r in results)
        for name, (begin, end) in gaps.items()
    }
