"""wasmtime-py: the same bundled .wasm files run by the `wasmtime` PyPI package, no VYR at all.

Shows the artifacts are not locked to VYR. Each workload runs in a fresh Python process (its
peak RSS, VmHWM, is its own): the module bytes come out of the same bundle (their sha256 checked
against the artifact digest; VYR's signature check has no equivalent here), states are plain
directories preopened at `/state/<name>` as VYR does, and the device table is loaded with the
same `state-file put` guest. The wall time covers compiling the module and running it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import REPO

NAME = "wasmtime-py"


def run(work: Path, artifacts: Any, inputs: Any) -> list[dict[str, Any]]:
    """Runs the three workloads, one worker process each; returns records."""
    import hashlib
    from importlib import metadata

    from environments.common import Outcome, check_forwarded, records

    data = work / "inputs"
    data.mkdir(parents=True)
    (data / "devices.tsv").write_bytes(inputs.device_table)
    (data / "events.ndjson").write_bytes(inputs.events)
    for number, batch in enumerate(inputs.batches):
        (data / f"batch-{number:04d}.csv").write_bytes(batch)
    (data / "anomaly.args").write_text(json.dumps(inputs.anomaly_args))
    outcomes = []
    for workload in ("event-transform", "collector", "anomaly"):
        result = work / f"{workload}.out"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "environments.wasmtime_py",
                "--worker",
                workload,
                "--bundle",
                str(artifacts.bundle),
                "--inputs",
                str(data),
                "--out",
                str(result),
            ],
            stdin=subprocess.DEVNULL,
            cwd=REPO,  # `-m environments.wasmtime_py` imports from the repository root
        )
        if process.wait() != 0:
            raise RuntimeError(
                f"wasmtime-py worker for {workload} exited with {process.returncode}"
            )
        report = json.loads((work / f"{workload}.out.json").read_text())
        output = result.read_bytes()
        if workload == "collector":
            check_forwarded(output, inputs)
        outcomes.append(
            Outcome(
                workload=workload,
                artifact_digest=report["digest"],
                output_sha256=hashlib.sha256(output).hexdigest(),
                wall_s=round(report["wall_s"], 4),
                peak_rss_bytes=report["peak_rss_bytes"],
                guest_peak_memory_bytes=report["guest_memory_bytes"],
                output_bytes=len(output),
                detail=report["detail"],
            )
        )
    return records(
        NAME,
        outcomes,
        runtime=f"wasmtime (PyPI) {metadata.version('wasmtime')}, no VYR",
        digest_check="sha256 only",
    )


# ---- the worker process -----------------------------------------------------------------


class Guest:
    """One compiled module, run as a WASI command the way VYR runs it."""

    def __init__(self, engine: Any, module_bytes: bytes, name: str) -> None:
        import wasmtime

        self.engine = engine
        self.name = name
        self.module = wasmtime.Module(engine, module_bytes)
        self.memory_bytes = 0

    def run(
        self, args: list[str], stdin: bytes, states: dict[str, tuple[Path, bool]], scratch: Path
    ) -> tuple[int, bytes, bytes]:
        import wasmtime

        io = {
            stream: scratch / f".{self.name}.{stream}" for stream in ("stdin", "stdout", "stderr")
        }
        io["stdin"].write_bytes(stdin)
        config = wasmtime.WasiConfig()
        config.argv = [self.name, *args]
        config.stdin_file, config.stdout_file, config.stderr_file = (
            str(io[s]) for s in ("stdin", "stdout", "stderr")
        )
        for state, (directory, writable) in states.items():
            _preopen(config, str(directory), f"/state/{state}", writable)
        store = wasmtime.Store(self.engine)
        store.set_wasi(config)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        instance = linker.instantiate(store, self.module)
        start = instance.exports(store)["_start"]
        try:
            start(store)  # type: ignore[operator]
            code = 0
        except wasmtime.ExitTrap as exit_trap:
            code = exit_trap.code
        memory = instance.exports(store).get("memory")
        if memory is not None:
            self.memory_bytes = max(self.memory_bytes, memory.data_len(store))  # type: ignore[union-attr]
        return code, io["stdout"].read_bytes(), io["stderr"].read_bytes()


def _preopen(config: Any, host: str, guest: str, writable: bool) -> None:
    """preopen_dir across wasmtime-py versions (DirPerms/FilePerms, later fs_mutable)."""
    import wasmtime

    if hasattr(wasmtime, "DirPerms"):
        mode = "READ_WRITE" if writable else "READ_ONLY"
        config.preopen_dir(
            host, guest, getattr(wasmtime.DirPerms, mode), getattr(wasmtime.FilePerms, mode)
        )
    else:
        config.preopen_dir(host, guest, fs_mutable=writable)


def worker(workload: str, bundle: Path, data: Path, out: Path) -> None:
    """Runs one workload; writes its output to OUT and a report to OUT.json."""
    import wasmtime
    from vyr.bundle import read_bundle

    modules = {entry.name: entry for entry in read_bundle(bundle)}  # sha256 == digest checked here
    engine = wasmtime.Engine()
    with tempfile.TemporaryDirectory(prefix="vyr-wasmtime-py-") as scratch_name:
        scratch = Path(scratch_name)
        started = time.perf_counter()
        guest = Guest(engine, modules[workload].module, workload)
        if workload == "event-transform":
            lookup = scratch / "lookup"
            lookup.mkdir()
            loader = Guest(engine, modules["state-file"].module, "state-file")
            _ok(
                loader.run(
                    ["put", "lookup", "devices.tsv"],
                    (data / "devices.tsv").read_bytes(),
                    {"lookup": (lookup, True)},
                    scratch,
                ),
                "put",
            )
            _, output, stderr = _ok(
                guest.run(
                    ["lookup"],
                    (data / "events.ndjson").read_bytes(),
                    {"lookup": (lookup, False)},
                    scratch,
                ),
                workload,
            )
        elif workload == "collector":
            site = scratch / "site"
            site.mkdir()
            for batch in sorted(data.glob("batch-*.csv")):
                _ok(
                    guest.run(
                        ["collect", "site"], batch.read_bytes(), {"site": (site, True)}, scratch
                    ),
                    "collect",
                )
            _, output, stderr = _ok(
                guest.run(["forward", "site"], b"", {"site": (site, True)}, scratch), "forward"
            )
        else:
            args = json.loads((data / "anomaly.args").read_text())
            _, output, stderr = _ok(guest.run(args, b"", {}, scratch), workload)
        wall = time.perf_counter() - started
    out.write_bytes(output)
    detail = (stderr if workload != "anomaly" else output).decode().strip()[:200]
    report = {
        "digest": modules[workload].digest,
        "wall_s": wall,
        "guest_memory_bytes": guest.memory_bytes,
        "detail": detail,
        "peak_rss_bytes": _own_peak_rss(),
    }
    out.with_name(out.name + ".json").write_text(json.dumps(report))


def _own_peak_rss() -> int:
    """This process's VmHWM. Not `ru_maxrss` from the parent's wait4: Linux carries the forked
    parent's high-water mark across exec into it, so every worker would report the runner's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _ok(result: tuple[int, bytes, bytes], what: str) -> tuple[int, bytes, bytes]:
    if result[0] != 0:
        raise SystemExit(f"{what} exited with {result[0]}: {result[2].decode(errors='replace')}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="run one workload under wasmtime-py (used by wasmtime_py.run)"
    )
    parser.add_argument(
        "--worker", required=True, choices=["event-transform", "collector", "anomaly"]
    )
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    worker(options.worker, options.bundle, options.inputs, options.out)
