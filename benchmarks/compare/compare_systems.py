"""The five systems of the comparison behind one small interface, so every measurement runs
the same code path on each: `prepare` (once per workload), `run` (one task, returns its exit
code and stdout), `start` (a task that can be cancelled or hit a deadline), `cold_prepare` /
`cold_run` (a never-seen artifact or image through first output) and `memory_pids`."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from benchmarks.baseline import images as image_builder
from benchmarks.baseline.containerd import Containerd
from benchmarks.baseline.jobs import JobRunner, JobSpec
from benchmarks.wasmtime_package import run_command

STATE_NAME = "lookup"
LONG_RUNNING_TIMEOUT_S = 600.0  # VYR's default task timeout is 30 s; long tasks ask for more


@dataclass(frozen=True)
class Workload:
    """A guest with its arguments and stdin. `state` is a host directory the guest reads
    (read-only) as state `lookup`; each system passes it its own way."""

    key: str  # how records name it
    guest: str  # hello, event-transform, anomaly
    args: tuple[str, ...] = ()
    stdin: bytes = b""
    state: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """How a task ended, in words every system can produce."""

    status: str  # "ok", "failed", "deadline", "cancelled"
    exit_code: int | None
    stdout: bytes
    ended: float = field(default_factory=time.monotonic)  # when the caller saw the result


class Handle:
    """A started task: `cancel()` and `wait()`."""

    def __init__(self, cancel: Callable[[], None], wait: Callable[[], Outcome]) -> None:
        self.cancel = cancel
        self.wait = wait


def wasm_variant(module: bytes, nonce: str) -> bytes:
    """The module plus a custom section holding `nonce`: same code, a new digest."""
    name = b"vyr-bench-nonce"
    payload = bytes([len(name)]) + name + nonce.encode()
    size, encoded = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        encoded.append(byte | (0x80 if size else 0))
        if not size:
            break
    return module + b"\x00" + bytes(encoded) + payload


# -- VYR, embedded and daemon -------------------------------------------------------------------


class VyrSystem:
    """`vyr.Runtime` in this process, or `vyr.Client` to a `vyr daemon` on a unix socket."""

    def __init__(
        self, name: str, node: Any, home: Path, guests: Path, key: Path, pids: list[int]
    ) -> None:
        self.name = name
        self.home = home
        self.node = node
        self.guests = guests
        self.key = key
        self._pids = pids
        self.digests: dict[str, str] = {}
        self._cold_count = 0
        self._last_cold: str | None = None
        self.cold_put_s: list[float] = []  # the put part of each cold run

    def put(self, guest: str) -> str:
        if guest not in self.digests:
            digest = self.node.put_module_file(self.guests / f"{guest}.wasm").digest
            await_optimized(self.node, digest)
            self.digests[guest] = digest
        return self.digests[guest]

    def prepare(self, workload: Workload) -> None:
        self.put(workload.guest)
        if workload.state is not None:
            self.ensure_state(workload.state)

    def ensure_state(self, directory: Path) -> None:
        """State `lookup` filled with the table (a daemon frees it 30 s after its last task)."""
        if any(state.name == STATE_NAME for state in self.node.list_states()):
            return
        self.node.create_state(STATE_NAME)
        table = (directory / "devices.tsv").read_bytes()
        result = self.node.run(
            self.put("state-file"), table, state_bindings=[f"{STATE_NAME}:rw"],
            args=["put", STATE_NAME, "devices.tsv"],
        )  # fmt: skip
        assert result.status == "succeeded", result

    def _options(self, workload: Workload, timeout_s: float | None = None) -> dict[str, Any]:
        from vyr.types import Resources

        options: dict[str, Any] = {"args": list(workload.args)}
        if workload.state is not None:
            options["args"].append(STATE_NAME)
            options["state_bindings"] = [f"{STATE_NAME}:ro"]
        if timeout_s is not None:
            options["resources"] = Resources(timeout_s=timeout_s)
        return options

    def run(self, workload: Workload) -> Outcome:
        result = self.node.run(
            self.digests[workload.guest], workload.stdin, **self._options(workload)
        )
        return _vyr_outcome(result)

    def start(self, workload: Workload, deadline_s: float | None = None) -> Handle:
        task = self.node.submit_task(
            self.digests[workload.guest], workload.stdin,
            **self._options(workload, deadline_s or LONG_RUNNING_TIMEOUT_S),
        )  # fmt: skip
        return Handle(task.cancel, lambda: _vyr_outcome(task.wait()))

    def cold_prepare(self, workload: Workload, scratch: Path, variant: str = "") -> Path:
        """A signed variant of the guest this node has never seen (untimed)."""
        from vyr.keys import sign_module

        if self._last_cold is not None:  # its background compile must not overlap this round
            await_optimized(self.node, self._last_cold)
        self._cold_count += 1
        module = scratch / f"{workload.guest}-{self.name}-{self._cold_count}.wasm"
        source = (self.guests / f"{workload.guest}.wasm").read_bytes()
        module.write_bytes(wasm_variant(source, f"{self.name}-{self._cold_count}-{time.time()}"))
        sign_module(module, self.key)
        return module

    def cold_run(self, workload: Workload, module: Path) -> Outcome:
        """put (verify, compile, store) + first run, through its output."""
        started = time.perf_counter()
        digest = self.node.put_module_file(module).digest
        self.cold_put_s.append(time.perf_counter() - started)
        self._last_cold = digest
        return _vyr_outcome(self.node.run(digest, workload.stdin, **self._options(workload)))

    def memory_pids(self) -> list[int]:
        return list(self._pids)


def await_optimized(node: Any, digest: str, timeout_s: float = 30.0) -> None:
    """Runs the guest until its tasks report Cranelift's code: a new artifact first runs
    Winch's baseline code while Cranelift compiles it in the background, and warm figures are
    for the optimised code (and no compile may overlap a measurement). Any outcome will do:
    only `usage["tier"]` is read."""
    deadline = time.monotonic() + timeout_s
    while node.run(digest, b"").usage.get("tier") != "optimized":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{digest} still runs baseline code after {timeout_s} s")
        time.sleep(0.01)


def _vyr_outcome(result: Any) -> Outcome:
    status = {
        "succeeded": "ok",
        "deadline_exceeded": "deadline",
        "cancelled": "cancelled",
    }.get(result.status, "failed")
    return Outcome(status, result.exit_code, bytes(result.stdout or b""))


# -- the wasmtime PyPI package ------------------------------------------------------------------


class WasmtimePySystem:
    """The same `.wasm` with the `wasmtime` package, written as a Python user would: one
    Engine (epoch interruption on, so that deadlines and cancel exist as they do in VYR), a
    Module per guest, and per task a Store, WasiConfig (stdin/stdout files: the package's
    WasiConfig takes stdin only from a file), Linker, instantiation and `_start`. No
    signature check and no memory cap: the package has no such thing."""

    name = "wasmtime-py"

    def __init__(self, guests: Path, scratch: Path) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True
        self.engine = wasmtime.Engine(config)
        self.guests = guests
        self.scratch = scratch
        self.modules: dict[str, wasmtime.Module] = {}
        self._local = threading.local()
        self._counter = 0
        self._lock = threading.Lock()

    def prepare(self, workload: Workload) -> None:
        if workload.guest not in self.modules:
            source = (self.guests / f"{workload.guest}.wasm").read_bytes()
            self.modules[workload.guest] = wasmtime.Module(self.engine, source)

    def _files(self) -> tuple[Path, Path, Path]:
        files = getattr(self._local, "files", None)
        if files is None:
            with self._lock:
                self._counter += 1
                base = self.scratch / f"thread-{self._counter}"
            base.mkdir(parents=True, exist_ok=True)
            files = (base / "stdin", base / "stdout", base / "stderr")
            self._local.files = files
        return files

    def _execute(self, module: wasmtime.Module, workload: Workload, ticks: int) -> Outcome:
        stdin, stdout, stderr = self._files()
        stdin.write_bytes(workload.stdin)
        argv = [workload.guest, *workload.args]
        preopens = []
        if workload.state is not None:
            preopens.append((workload.state, f"/state/{STATE_NAME}"))
            argv.append(STATE_NAME)
        try:
            code = run_command(self.engine, module, argv, (stdin, stdout, stderr), preopens, ticks)
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            return Outcome("interrupted", None, b"")
        return Outcome("ok" if code == 0 else "failed", code, stdout.read_bytes())

    def run(self, workload: Workload) -> Outcome:
        return self._execute(self.modules[workload.guest], workload, 1 << 40)

    def start(self, workload: Workload, deadline_s: float | None = None) -> Handle:
        """Cancel and deadline both bump the engine epoch; one such task runs at a time."""
        results: queue.Queue[Outcome] = queue.Queue()
        reason = ["cancelled"]
        module = self.modules[workload.guest]
        thread = threading.Thread(
            target=lambda: results.put(self._execute(module, workload, 1)), daemon=True
        )
        timer = None
        if deadline_s is not None:

            def expire() -> None:
                reason[0] = "deadline"
                self.engine.increment_epoch()

            timer = threading.Timer(deadline_s, expire)
            timer.daemon = True
        thread.start()
        if timer is not None:
            timer.start()

        def wait() -> Outcome:
            outcome = results.get()
            if timer is not None:
                timer.cancel()
            if outcome.status == "interrupted":
                return Outcome(reason[0], None, b"", outcome.ended)
            return outcome

        return Handle(self.engine.increment_epoch, wait)

    def cold_prepare(self, workload: Workload, scratch: Path, variant: str = "") -> bytes:
        self._counter += 1
        source = (self.guests / f"{workload.guest}.wasm").read_bytes()
        return wasm_variant(source, f"wasmtime-py-{self._counter}-{time.time()}")

    def cold_run(self, workload: Workload, module_bytes: bytes) -> Outcome:
        """Compile (Cranelift, no cache) + first run."""
        return self._execute(wasmtime.Module(self.engine, module_bytes), workload, 1 << 40)

    def memory_pids(self) -> list[int]:
        return [os.getpid()]


# -- the native binary --------------------------------------------------------------------------


class NativeSystem:
    """The static musl build as a plain child process: the floor."""

    name = "native"

    def __init__(self, guests: Path) -> None:
        self.guests = guests
        self.children: list[subprocess.Popen[bytes]] = []

    def argv(self, workload: Workload, binary: Path | None = None) -> list[str]:
        argv = [str(binary or self.guests / f"{workload.guest}.native"), *workload.args]
        if workload.state is not None:
            argv.append(str(workload.state))  # a path with "/" is used as the directory
        return argv

    def prepare(self, workload: Workload) -> None:
        pass

    def run(self, workload: Workload, binary: Path | None = None) -> Outcome:
        completed = subprocess.run(
            self.argv(workload, binary), input=workload.stdin, capture_output=True, check=False
        )
        code = completed.returncode
        return Outcome("ok" if code == 0 else "failed", code, completed.stdout)

    def start(self, workload: Workload, deadline_s: float | None = None) -> Handle:
        with tempfile.TemporaryFile() as stdin:
            stdin.write(workload.stdin)
            stdin.seek(0)
            process = subprocess.Popen(
                self.argv(workload), stdin=stdin, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        self.children.append(process)
        reason = ["cancelled"]

        def wait() -> Outcome:
            try:
                stdout, _ = process.communicate(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                reason[0] = "deadline"
                process.kill()
                stdout, _ = process.communicate()
            if process.returncode == 0:
                return Outcome("ok", 0, stdout)
            if process.returncode < 0:
                return Outcome(reason[0], process.returncode, stdout)
            return Outcome("failed", process.returncode, stdout)

        return Handle(process.kill, wait)

    def cold_prepare(self, workload: Workload, scratch: Path, variant: str = "") -> Path:
        """A copy of the binary at a path never executed before (the page cache stays warm)."""
        target = Path(tempfile.mkdtemp(dir=scratch)) / f"{workload.guest}.native"
        shutil.copy2(self.guests / f"{workload.guest}.native", target)
        return target

    def cold_run(self, workload: Workload, binary: Path) -> Outcome:
        return self.run(workload, binary)

    def memory_pids(self) -> list[int]:
        return [p.pid for p in self.children if p.poll() is None]


# -- containerd + runc ----------------------------------------------------------------------------


class ContainerdSystem:
    """The job runner on the private containerd; `variant` picks the image family."""

    name = "containerd-runc"

    def __init__(
        self, daemon: Containerd, images: dict[str, image_builder.Image], scratch: Path
    ) -> None:
        self.daemon = daemon
        self.images = images  # key: guest name for scratch images, "debian" for the typical one
        self.scratch = scratch
        self.runner = JobRunner(daemon, prefix="bench", output_root=scratch / "outputs")
        self._inputs: dict[str, Path] = {}

    def image_for(self, workload: Workload, variant: str) -> image_builder.Image:
        return self.images["debian" if variant == "debian" else workload.guest]

    def input_dir(self, workload: Workload) -> Path:
        directory = self._inputs.get(workload.key)
        if directory is None:
            directory = self.scratch / "inputs" / workload.key
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "stdin").write_bytes(workload.stdin)
            self._inputs[workload.key] = directory
        return directory

    def spec(self, workload: Workload, variant: str = "scratch", deadline_s: float | None = None
             ) -> JobSpec:  # fmt: skip
        args = list(workload.args)
        states = {}
        if workload.state is not None:
            states[STATE_NAME] = workload.state
            args.append(STATE_NAME)
        return JobSpec(
            image=self.image_for(workload, variant).ref,
            program=f"/app/{workload.guest}",
            args=args,
            input_dir=self.input_dir(workload),
            stdin_file="stdin",
            states=states,
            active_deadline_s=deadline_s,
        )

    def prepare(self, workload: Workload, variant: str = "scratch") -> None:
        image = self.image_for(workload, variant)
        if image.ref not in self.daemon.ctr("images", "list", "--quiet").split():
            image_builder.import_image(self.daemon, image)
        self.input_dir(workload)

    def run(self, workload: Workload, variant: str = "scratch") -> Outcome:
        return _job_outcome(self.runner.run(self.spec(workload, variant)))

    def start(self, workload: Workload, deadline_s: float | None = None) -> Handle:
        job = self.runner.start(self.spec(workload, deadline_s=deadline_s))
        return Handle(job.cancel, lambda: _job_outcome(job.wait()))

    def cold_prepare(
        self, workload: Workload, scratch: Path, variant: str = "scratch"
    ) -> image_builder.Image:
        """Removes the image (content and snapshots collected) so the next run imports it."""
        image = self.image_for(workload, variant)
        image_builder.remove_image(self.daemon, image)
        self.input_dir(workload)
        return image

    def cold_run(self, workload: Workload, image: image_builder.Image) -> Outcome:
        """`ctr images import` of the OCI archive (content + unpack) + the first job."""
        image_builder.import_image(self.daemon, image)
        variant = "debian" if image.variant == "debian" else "scratch"
        return self.run(workload, variant)

    def memory_pids(self) -> list[int]:
        return self.daemon.pids()


def _job_outcome(result: Any) -> Outcome:
    if result.status == "Complete":
        return Outcome("ok", 0, result.stdout, result.ended)
    status = {"DeadlineExceeded": "deadline", "Cancelled": "cancelled"}.get(result.reason, "failed")
    return Outcome(status, result.exit_code, result.stdout, result.ended)
