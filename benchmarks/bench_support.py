"""Helpers shared by the benchmark modules: the signed guests, opening a node, percentiles,
and the `wasmtime` PyPI package baseline written the way a Python user would write it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime_package import run_command


@dataclass(frozen=True)
class Signed:
    """A directory of signed guests (MODULE, MODULE.manifest.json, MODULE.sig) and the key."""

    directory: Path
    private_key: Path
    public_key_text: str

    def module(self, name: str) -> Path:
        return self.directory / f"{name}.wasm"


def open_node(home: Path, signed: Signed, **limits: Any) -> Any:
    """A `vyr.Runtime` on `home` that trusts the benchmark key."""
    import vyr

    node = vyr.Runtime(home=home, **limits)
    node.trust_add(signed.public_key_text)
    return node


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` in 0..1): a value that was actually observed."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def spread(values_s: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max of durations in seconds, for `extra_info`."""
    return {
        "p50_s": percentile(values_s, 0.50),
        "p99_s": percentile(values_s, 0.99),
        "max_s": max(values_s),
        "samples": len(values_s),
    }


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
