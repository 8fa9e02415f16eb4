"""Cold start on the `hello` guest: put + first run of a never-seen artifact in a fresh home
(verify, Cranelift compile, store, run), and the first run after a restart (a new `Runtime`
on the same home: the compiled code comes from the on-disk cache). The `wasmtime` package,
compiling from bytes and deserializing its own serialized code, is the in-run baseline."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from benchmarks.bench_support import WasmtimePackageRunner, open_node, phase_medians
from harness.guests import Signed
from harness.stats import spread

COLD_ROUNDS = 5
RESTART_ROUNDS = 30


class Nodes:
    """Runtimes opened by `setup` functions; each new round first closes the previous one so
    only one node (and its worker pool and instance pool) is alive at a time."""

    def __init__(self) -> None:
        self.open: list[Any] = []

    def add(self, node: Any) -> Any:
        self.open.append(node)
        return node

    def close_all(self) -> None:
        while self.open:
            self.open.pop().close()


@pytest.fixture
def nodes() -> Iterator[Nodes]:
    opened = Nodes()
    yield opened
    opened.close_all()


@pytest.fixture
def restarted_home(tmp_path: Path, signed: Signed) -> tuple[Path, str]:
    """A home where `hello` was put (and so compiled and cached) by a node now closed."""
    home = tmp_path / "home"
    node = open_node(home, signed)
    digest = node.put_module_file(signed.module("hello")).digest
    node.close()
    return home, digest


def test_cold_put_and_first_run_vyr(
    benchmark: Any, signed: Signed, tmp_path: Path, nodes: Nodes
) -> None:
    counter = itertools.count()
    put_times: list[float] = []

    def fresh_node() -> tuple[tuple[Any, ...], dict[str, Any]]:
        nodes.close_all()
        return (nodes.add(open_node(tmp_path / f"home-{next(counter)}", signed)),), {}

    def put_and_run(node: Any) -> Any:
        started = time.perf_counter()
        artifact = node.put_module_file(signed.module("hello"))
        put_times.append(time.perf_counter() - started)
        return node.run(artifact.digest, b"hi")

    benchmark.group = "cold-start"
    result = benchmark.pedantic(put_and_run, setup=fresh_node, rounds=COLD_ROUNDS, warmup_rounds=1)
    assert result.ok and result.stdout == b"HI"
    benchmark.extra_info.update(
        key="cold_vyr",
        versus="cold_wasmtime_package",
        label="VYR: put (verify + compile + store) + first run, fresh home",
        module_bytes=signed.module("hello").stat().st_size,
        put_median_s=statistics.median(put_times[-COLD_ROUNDS:]),
    )


def test_cold_compile_and_first_run_wasmtime_package(
    benchmark: Any, signed: Signed, tmp_path: Path
) -> None:
    module_bytes = signed.module("hello").read_bytes()

    def fresh_engine() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (WasmtimePackageRunner(tmp_path, wasmtime.Engine()),), {}

    def compile_and_run(runner: WasmtimePackageRunner) -> tuple[int, bytes]:
        return runner.run(runner.compile(module_bytes), b"hi")

    benchmark.group = "cold-start"
    outcome = benchmark.pedantic(
        compile_and_run, setup=fresh_engine, rounds=COLD_ROUNDS, warmup_rounds=1
    )
    assert outcome == (0, b"HI")
    benchmark.extra_info.update(
        key="cold_wasmtime_package",
        label="wasmtime package: Module(engine, bytes) + first run, fresh Engine",
        baseline=True,
    )


def test_restart_first_run_vyr(
    benchmark: Any, signed: Signed, restarted_home: tuple[Path, str], nodes: Nodes
) -> None:
    import vyr

    home, digest = restarted_home
    results: list[Any] = []

    def restart() -> tuple[tuple[Any, ...], dict[str, Any]]:
        nodes.close_all()
        return (nodes.add(vyr.Runtime(home=home)),), {}

    def first_run(node: Any) -> Any:
        results.append(node.run(digest, b"hi"))
        return results[-1]

    benchmark.group = "cold-start"
    result = benchmark.pedantic(first_run, setup=restart, rounds=RESTART_ROUNDS, warmup_rounds=2)
    assert result.ok and result.stdout == b"HI"
    # A first run after a restart loads the artifact (cold) from the compile cache (not compiled).
    assert result.usage["cold"] and not result.usage["compiled"], result.usage
    benchmark.extra_info.update(
        key="restart_vyr",
        versus="restart_wasmtime_package",
        label="VYR: first run after restart (Runtime already open; on-disk compile cache)",
        module_bytes=signed.module("hello").stat().st_size,
        phases_median_us=phase_medians(results[-RESTART_ROUNDS:]),
        **spread(benchmark.stats.stats.data),
    )


def test_restart_open_and_first_run_vyr(
    benchmark: Any, restarted_home: tuple[Path, str], nodes: Nodes
) -> None:
    import vyr

    home, digest = restarted_home

    def open_and_run() -> Any:
        return nodes.add(vyr.Runtime(home=home)).run(digest, b"hi")

    benchmark.group = "cold-start"
    result = benchmark.pedantic(
        open_and_run, setup=nodes.close_all, rounds=RESTART_ROUNDS, warmup_rounds=2
    )
    assert result.ok and not result.usage["compiled"], result.usage
    benchmark.extra_info.update(
        key="restart_open_vyr",
        versus="restart_wasmtime_package",
        label="VYR: Runtime(home) + first run after restart",
        **spread(benchmark.stats.stats.data),
    )


def test_restart_first_run_wasmtime_package(benchmark: Any, signed: Signed, tmp_path: Path) -> None:
    serialized = tmp_path / "hello.cwasm"
    serialized.write_bytes(
        wasmtime.Module(wasmtime.Engine(), signed.module("hello").read_bytes()).serialize()
    )

    def fresh_engine() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (WasmtimePackageRunner(tmp_path, wasmtime.Engine()),), {}

    def load_and_run(runner: WasmtimePackageRunner) -> tuple[int, bytes]:
        return runner.run(runner.deserialize(serialized), b"hi")

    benchmark.group = "cold-start"
    outcome = benchmark.pedantic(
        load_and_run, setup=fresh_engine, rounds=RESTART_ROUNDS, warmup_rounds=2
    )
    assert outcome == (0, b"HI")
    benchmark.extra_info.update(
        key="restart_wasmtime_package",
        label="wasmtime package: Module.deserialize_file + first run, fresh Engine",
        baseline=True,
        **spread(benchmark.stats.stats.data),
    )
