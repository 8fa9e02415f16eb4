"""One WASI command task with the `wasmtime` PyPI package, written as a Python user would:
a Store, a WasiConfig (stdin, stdout and stderr through files: the package's WasiConfig takes
stdin only from a file), a Linker, instantiation and `_start`. Shared by the micro-benchmarks
(`bench_support.WasmtimePackageRunner`) and the comparison (`compare_systems.WasmtimePySystem`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import wasmtime


def run_command(
    engine: wasmtime.Engine,
    module: wasmtime.Module,
    argv: Sequence[str],
    files: tuple[Path, Path, Path],
    preopens: Sequence[tuple[Path, str]] = (),
    epoch_ticks: int | None = None,
) -> int:
    """Runs `_start` with stdin, stdout and stderr through `files` (stdin already written);
    returns the exit code. A trap (or the epoch deadline, when `epoch_ticks` is set) raises."""
    stdin, stdout, stderr = files
    config = wasmtime.WasiConfig()
    for host, guest in preopens:
        config.preopen_dir(str(host), guest)
    config.argv = list(argv)
    config.stdin_file = str(stdin)
    config.stdout_file = str(stdout)
    config.stderr_file = str(stderr)
    store = wasmtime.Store(engine)
    if epoch_ticks is not None:
        store.set_epoch_deadline(epoch_ticks)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    return 0
