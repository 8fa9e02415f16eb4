"""The container baseline's job runner (`benchmarks/baseline/jobs.py`) without containerd:
a fake `ctr` runs the job's program as a plain process, so the Kubernetes Job semantics
(read-only input mount, collected output, exit status, deadline kill, no retries, cancel) are
checked here in a second. The real containerd path runs only in `make bench`."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks.baseline.jobs import JobRunner, JobSpec, run_argv

# `ctr run [options] IMAGE NAME ENTRYPOINT IN OUT PROGRAM ARGS...` -> PROGRAM ARGS < IN > OUT
# (/input and /output mapped to the mounted host directories); `ctr tasks kill --signal S NAME` kills
# it. Every `run` appends a line to runs.log so that retries would show.
FAKE_CTR = textwrap.dedent(
    """\
    import os, signal, subprocess, sys
    from pathlib import Path
    state = Path(os.environ["FAKE_CTR_STATE"])
    args = sys.argv[1:]
    if args[:2] == ["tasks", "kill"]:
        pid_file = state / (args[-1] + ".pid")
        if not pid_file.exists():
            sys.exit(1)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        sys.exit(0)
    assert args[0] == "run", args
    index, mounts = 1, {}
    while args[index].startswith("--"):
        if args[index] == "--mount":
            fields = dict(f.split("=", 1) for f in args[index + 1].split(","))
            assert fields["options"].endswith(":ro") or fields["dst"] == "/output", fields
            mounts[fields["dst"]] = fields["src"]
        index += 2 if args[index] in ("--mount", "--runtime") else 1
    image, name, entrypoint, stdin, stdout, program, *rest = args[index:]
    with open(state / "runs.log", "a") as log:
        log.write(name + "\\n")
    for dst, src in mounts.items():
        stdin = stdin.replace(dst, src, 1)
        stdout = stdout.replace(dst, src, 1)
    with open(stdin, "rb") as source, open(stdout, "wb") as sink:
        child = subprocess.Popen([program, *rest], stdin=source, stdout=sink)
    (state / (name + ".pid")).write_text(str(child.pid))
    code = child.wait()
    sys.exit(128 - code if code < 0 else code)
    """
)


class FakeContainerd:
    def __init__(self, directory: Path) -> None:
        self.script = directory / "fake_ctr.py"
        self.script.write_text(FAKE_CTR)

    def ctr_argv(self, *args: str) -> list[str]:
        return [sys.executable, str(self.script), *args]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobRunner:
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("FAKE_CTR_STATE", str(state))
    return JobRunner(FakeContainerd(tmp_path), prefix="test", output_root=tmp_path / "out")


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "input"
    directory.mkdir()
    (directory / "stdin").write_bytes(b"hello\n")
    return directory


def _spec(input_dir: Path, script: str, deadline: float | None = None) -> JobSpec:
    return JobSpec(
        image="img",
        program=sys.executable,
        args=["-c", script],
        input_dir=input_dir,
        stdin_file="stdin",
        active_deadline_s=deadline,
    )


def test_argv_mounts_input_and_states_read_only(tmp_path: Path) -> None:
    spec = JobSpec(
        image="vyr-bench/hello:scratch",
        program="/app/hello",
        args=["x"],
        input_dir=tmp_path,
        stdin_file="stdin",
        states={"lookup": tmp_path / "l"},
    )
    argv = run_argv(spec, "job-1", tmp_path / "out")
    assert argv[:4] == ["run", "--rm", "--runtime", "io.containerd.runc.v2"]
    assert f"type=bind,src={tmp_path},dst=/input,options=rbind:ro" in argv
    assert f"type=bind,src={tmp_path / 'l'},dst=/state/lookup,options=rbind:ro" in argv
    assert f"type=bind,src={tmp_path / 'out'},dst=/output,options=rbind:rw" in argv
    assert argv[-7:] == [
        "vyr-bench/hello:scratch",
        "job-1",
        "/bin/stdin-from",
        "/input/stdin",
        "/output/stdout",
        "/app/hello",
        "x",
    ]
    assert run_argv(spec, "job-2")[-3:-1] == ["-", "/app/hello"]  # no volume: through ctr


def test_output_collected_and_complete(runner: JobRunner, input_dir: Path, tmp_path: Path) -> None:
    script = "import sys; sys.stdout.write(sys.stdin.read().upper()); sys.stderr.write('log')"
    result = runner.run(_spec(input_dir, script))
    assert (result.status, result.reason, result.exit_code) == ("Complete", None, 0)
    assert (result.stdout, result.stderr) == (b"HELLO\n", b"log")
    assert list((tmp_path / "out").iterdir()) == []  # the output volume is removed


def test_failure_recorded_and_never_retried(
    runner: JobRunner, input_dir: Path, tmp_path: Path
) -> None:
    result = runner.run(_spec(input_dir, "raise SystemExit(3)"))
    assert (result.status, result.reason, result.exit_code) == ("Failed", "Error", 3)
    assert len((tmp_path / "state" / "runs.log").read_text().split()) == 1


def test_deadline_kills(runner: JobRunner, input_dir: Path) -> None:
    started = time.monotonic()
    result = runner.run(_spec(input_dir, "import time; time.sleep(30)", deadline=0.5))
    assert (result.status, result.reason) == ("Failed", "DeadlineExceeded")
    assert 0.5 <= time.monotonic() - started < 10


def test_cancel_kills(runner: JobRunner, input_dir: Path) -> None:
    job = runner.start(_spec(input_dir, "import time; time.sleep(30)"))
    time.sleep(0.3)
    job.cancel()
    result = job.wait()
    assert (result.status, result.reason) == ("Failed", "Cancelled")
    assert result.wall_s < 10
