"""`vyr run` as a process: its spans arrive before it exits, every time, over both OTLP
protocols; with the collector down, hanging or on the wrong protocol it still exits promptly,
with one readable warning, and its spans go to the spool or are counted as dropped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.guests import Signed
from harness.otlp import BlackHole, GrpcReceiver, HttpReceiver, free_port

RUNS = 10
SPANS_PER_TASK = 5
# Messages that mean the process did not end cleanly (PyO3's panic when a worker thread calls
# into a finalised interpreter, a traceback, the SDK exporters' retry lines).
UNCLEAN = ("panicked", "not initialized", "Traceback", "Transient error", "retrying")


@pytest.fixture
def cli_home(tmp_path: Path, signed: Signed) -> Path:
    """A node home that trusts the key hello.wasm is signed with."""
    from vyr.runtime import Runtime

    home = tmp_path / "home"
    with Runtime(home) as node:
        node.trust_add(signed.public_key)
    return home


def _environment(**otel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "VYR_"))}
    return {**env, "OTEL_SERVICE_NAME": "vyr-cli-test", **otel}


@dataclass
class Ran:
    """A finished `vyr run`."""

    returncode: int
    out: bytes
    err: str
    seconds_after_output: float  # from the task's output reaching us to the process's exit


def vyr_run(home: Path, module: Path, env: dict[str, str], *extra: str) -> Ran:
    """Runs `vyr run MODULE --input -` with `hi` on stdin (hello answers `HI`)."""
    command = [sys.executable, "-m", "vyr", "--home", str(home), "run", str(module), "--input", "-"]
    pipe = subprocess.PIPE
    with subprocess.Popen([*command, *extra], stdin=pipe, stdout=pipe, stderr=pipe, env=env) as run:
        assert run.stdin and run.stdout and run.stderr
        errors: list[bytes] = []
        reader = threading.Thread(target=lambda: errors.append(run.stderr.read()))  # type: ignore[union-attr]
        reader.start()
        run.stdin.write(b"hi")
        run.stdin.close()
        first = run.stdout.read(1)  # vyr run relays the output once the task has ended
        output_at = time.monotonic()
        stdout = first + run.stdout.read()
        run.wait(120)
        elapsed = time.monotonic() - output_at
        reader.join(10)
    return Ran(run.returncode, stdout, b"".join(errors).decode(errors="replace"), elapsed)


def _spans_of(received: Any, task_id: str) -> list[dict[str, Any]]:
    with received.lock:
        roots = [
            s
            for s in received.spans
            if s["name"] == "vyr.submit" and s["attributes"].get("vyr.task.id") == task_id
        ]
        if not roots:
            return []
        trace = roots[0]["trace_id"]
        return [s for s in received.spans if s["trace_id"] == trace]


@pytest.fixture(params=["grpc", "http/protobuf"])
def any_receiver(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """(protocol, a started receiver for it)."""
    started: Any = GrpcReceiver().start() if request.param == "grpc" else HttpReceiver().start()
    yield request.param, started
    started.stop()


@pytest.mark.slow
def test_every_run_delivers_its_spans_before_it_exits(
    cli_home: Path, signed: Signed, any_receiver: tuple[str, Any]
) -> None:
    protocol, receiver = any_receiver
    env = _environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL=protocol
    )
    lost = []
    for run in range(RUNS):
        process = vyr_run(cli_home, signed.module("hello"), env, "--json")
        assert process.returncode == 0, process.err
        assert not any(marker in process.err for marker in UNCLEAN), process.err
        task_id = json.loads(process.out)["id"]
        # No waiting: the receiver records a request before it answers, and the process only
        # exits once its spans were answered.
        if len(_spans_of(receiver.received, task_id)) != SPANS_PER_TASK:
            lost.append(run)
    assert lost == [], f"runs whose spans did not all arrive: {lost} of {RUNS} ({protocol})"


def test_collector_down_one_warning_and_a_prompt_exit(cli_home: Path, signed: Signed) -> None:
    env = _environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nobody listens
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    process = vyr_run(cli_home, signed.module("hello"), env)
    assert process.returncode == 0 and process.out == b"HI"
    lines = process.err.splitlines()
    # The guest's own stderr line ("hello: 2 bytes"), then one line for the outage (traces and
    # metrics alike).
    telemetry = [line for line in lines if line.startswith("telemetry:")]
    assert len(telemetry) == 1 and len(lines) == 2, process.err
    assert "connection refused" in telemetry[0] and "dropped and counted" in telemetry[0]


def test_a_hanging_collector_holds_the_exit_for_the_exit_budget_only(
    cli_home: Path, signed: Signed
) -> None:
    hole = BlackHole()
    try:
        env = _environment(
            OTEL_EXPORTER_OTLP_ENDPOINT=hole.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            # Each request may take 30 s: only the exit budget (1 s) can end the process sooner.
            OTEL_EXPORTER_OTLP_TIMEOUT="30",
        )
        process = vyr_run(cli_home, signed.module("hello"), env)
    finally:
        hole.close()
    assert process.returncode == 0
    assert process.seconds_after_output < 10, process.seconds_after_output
    (warning,) = [line for line in process.err.splitlines() if line.startswith("telemetry:")]
    assert "no answer within" in warning


def test_with_a_spool_the_spans_of_a_run_wait_on_disk(
    cli_home: Path, signed: Signed, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    env = _environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        VYR_TELEMETRY_SPOOL_DIR=str(spool),
    )
    process = vyr_run(cli_home, signed.module("hello"), env)
    assert process.returncode == 0
    (warning,) = [line for line in process.err.splitlines() if line.startswith("telemetry:")]
    assert str(spool) in warning
    # File names carry their span counts: <sequence>-<spans>.otlp
    assert sum(int(p.stem.split("-")[1]) for p in spool.glob("*.otlp")) == SPANS_PER_TASK


def test_http_protocol_at_a_grpc_port_says_so_in_one_line(
    cli_home: Path, signed: Signed, receiver: GrpcReceiver
) -> None:
    env = _environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf"
    )
    process = vyr_run(cli_home, signed.module("hello"), env)
    assert process.returncode == 0
    (warning,) = [line for line in process.err.splitlines() if line.startswith("telemetry:")]
    assert "OTLP/gRPC port" in warning and "OTEL_EXPORTER_OTLP_PROTOCOL=grpc" in warning
    assert all(character.isprintable() or character == "\n" for character in process.err)
    assert not receiver.received.spans


def test_console_exporter_prints_the_spans_on_stderr(cli_home: Path, signed: Signed) -> None:
    env = _environment(OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none")
    process = vyr_run(cli_home, signed.module("hello"), env)
    assert process.returncode == 0
    assert process.out == b"HI"  # stdout stays the task's
    decoder, text, spans = json.JSONDecoder(), process.err, []
    start = text.index("{")  # after the guest's own stderr line
    while start < len(text):
        span, end = decoder.raw_decode(text, start)
        spans.append(span)
        start = next((i for i in range(end, len(text)) if text[i] == "{"), len(text))
    assert {s["name"] for s in spans} == {
        "vyr.submit", "vyr.artifact.load", "vyr.instantiate", "vyr.execute", "vyr.complete"
    }  # fmt: skip
    root = next(s for s in spans if s["name"] == "vyr.submit")
    assert root["kind"] == "SpanKind.INTERNAL" and root["parent_id"] is None
    assert root["resource"]["attributes"]["service.name"] == "vyr-cli-test"
