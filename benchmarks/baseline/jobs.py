"""A job runner with Kubernetes Job semantics on containerd, through `ctr`.

What it keeps of a `batch/v1` Job with `backoffLimit: 0`, `restartPolicy: Never`:
- one new container per task (a pod per Job), removed when it ends;
- the input is a host directory mounted **read-only** at `/input` (a volume); the image's
  `stdin-from` entrypoint feeds `/input/<file>` to the program's stdin; state directories are
  read-only mounts at `/state/<name>`;
- the output: stdout goes to a file on a per-job writable volume (`/output/stdout`, an
  emptyDir), read back and removed when the job ends; stderr is the container's log as `ctr`
  relays it (`ctr run` was seen to drop the tail of a quickly exiting container's stdout);
- the exit status is recorded: `Complete` on exit 0, else `Failed` with the exit code;
- `activeDeadlineSeconds`: at the deadline the container is killed (SIGKILL, no grace period,
  the most favourable case) and the job is `Failed` with reason `DeadlineExceeded`;
- no retries: a failed job is reported, never run again.

`ctr` stands in for the kubelet's CRI calls; the Kubernetes control plane (API write,
scheduling, kubelet sync, pause container) is not modelled and not measured.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

INPUT_MOUNT = "/input"
OUTPUT_MOUNT = "/output"
STATE_MOUNT = "/state"
ENTRYPOINT = "/bin/stdin-from"
KILL_RETRY_S = 0.005


class CtrTarget(Protocol):
    """What the runner needs of a containerd: the `ctr` command line for its socket."""

    def ctr_argv(self, *args: str) -> list[str]: ...


@dataclass(frozen=True)
class JobSpec:
    """One task: the program in `image`, its stdin file inside `input_dir`, its mounts."""

    image: str
    program: str  # path inside the image, e.g. /app/hello
    args: Sequence[str] = ()
    input_dir: Path | None = None  # mounted read-only at /input
    stdin_file: str | None = None  # a file name inside input_dir; None: /dev/null
    states: dict[str, Path] = field(default_factory=dict)  # name -> host dir, read-only
    active_deadline_s: float | None = None
    runtime: str = "io.containerd.runc.v2"


@dataclass(frozen=True)
class JobResult:
    """What a Job's status and its pod's log tell afterwards."""

    name: str
    status: str  # "Complete" or "Failed"
    reason: str | None  # None, "Error", "DeadlineExceeded" or "Cancelled"
    exit_code: int
    stdout: bytes
    stderr: bytes
    started: float  # time.monotonic() when the runner launched the container
    ended: float  # when the runner saw the container gone

    @property
    def wall_s(self) -> float:
        return self.ended - self.started


def run_argv(spec: JobSpec, name: str, output_dir: Path | None = None) -> list[str]:
    """The `ctr run` arguments (after `ctr --address … --namespace …`) for one job; stdout goes
    to `output_dir` (mounted read-write at /output) when given, else through `ctr`."""
    argv = ["run", "--rm", "--runtime", spec.runtime]
    if spec.input_dir is not None:
        argv += ["--mount", f"type=bind,src={spec.input_dir},dst={INPUT_MOUNT},options=rbind:ro"]
    if output_dir is not None:
        argv += ["--mount", f"type=bind,src={output_dir},dst={OUTPUT_MOUNT},options=rbind:rw"]
    for state, host_dir in sorted(spec.states.items()):
        argv += ["--mount", f"type=bind,src={host_dir},dst={STATE_MOUNT}/{state},options=rbind:ro"]
    stdin = f"{INPUT_MOUNT}/{spec.stdin_file}" if spec.stdin_file else "/dev/null"
    if spec.stdin_file and spec.input_dir is None:
        raise ValueError("stdin_file needs input_dir")
    stdout = f"{OUTPUT_MOUNT}/stdout" if output_dir is not None else "-"
    return [*argv, spec.image, name, ENTRYPOINT, stdin, stdout, spec.program, *spec.args]


class RunningJob:
    """A launched job: `wait()` for its result, `cancel()` to kill it (deleting the Job)."""

    def __init__(self, runner: JobRunner, spec: JobSpec, name: str) -> None:
        self._runner = runner
        self.spec = spec
        self.name = name
        self._reason: str | None = None
        self._lock = threading.Lock()
        self.output_dir: Path | None = None
        if runner.output_root is not None:
            self.output_dir = runner.output_root / name
            self.output_dir.mkdir(parents=True)
        self.started = time.monotonic()
        self._process = subprocess.Popen(
            runner.target.ctr_argv(*run_argv(spec, name, self.output_dir)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._timer: threading.Timer | None = None
        if spec.active_deadline_s is not None:
            self._timer = threading.Timer(spec.active_deadline_s, self._kill, ("DeadlineExceeded",))
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Kills the container now (a Job deleted with a zero grace period)."""
        self._kill("Cancelled")

    def wait(self) -> JobResult:
        """Waits for the container to be gone; the status follows Kubernetes' Job conditions."""
        stdout, stderr = self._process.communicate()
        if self.output_dir is not None:
            output = self.output_dir / "stdout"
            stdout = output.read_bytes() if output.exists() else b""
            shutil.rmtree(self.output_dir)
        ended = time.monotonic()
        if self._timer is not None:
            self._timer.cancel()
        code = self._process.returncode
        with self._lock:
            reason = self._reason
        if reason is None and code != 0:
            reason = "Error"
        return JobResult(
            name=self.name,
            status="Complete" if reason is None else "Failed",
            reason=reason,
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            started=self.started,
            ended=ended,
        )

    def _kill(self, reason: str) -> None:
        with self._lock:
            if self._process.poll() is not None or self._reason is not None:
                return
            self._reason = reason
        # The task may not exist yet (the container is still being created): retry until the
        # `ctr run` process is gone.
        while self._process.poll() is None:
            subprocess.run(
                self._runner.target.ctr_argv("tasks", "kill", "--signal", "SIGKILL", self.name),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            try:
                self._process.wait(KILL_RETRY_S * 20)
            except subprocess.TimeoutExpired:
                time.sleep(KILL_RETRY_S)


class JobRunner:
    """Runs `JobSpec`s on a containerd, one container each, never retrying."""

    def __init__(
        self, target: CtrTarget, prefix: str = "job", output_root: Path | None = None
    ) -> None:
        self.target = target
        self.output_root = output_root  # None: stdout through `ctr` instead of a volume
        self._names = itertools.count()
        self._prefix = f"{prefix}-{os.getpid()}"
        self.on_launch: Callable[[RunningJob], None] | None = None

    def start(self, spec: JobSpec) -> RunningJob:
        job = RunningJob(self, spec, f"{self._prefix}-{next(self._names)}")
        if self.on_launch is not None:
            self.on_launch(job)
        return job

    def run(self, spec: JobSpec) -> JobResult:
        return self.start(spec).wait()
