"""The exit sequence (`vyr._exit`), in child processes: a program that ends without closing its
node, tasks still in flight, never panics; spans that cannot be delivered at exit are counted
as dropped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.guests import Signed
from harness.otlp import GrpcReceiver, free_port

IN_FLIGHT = """
import sys
from vyr.runtime import Runtime

node = Runtime(sys.argv[1])
node.trust_add(open(sys.argv[3]).read())
digest = node.put_module_file(sys.argv[2]).digest
node.run(digest, b"warm")
tasks = [node.submit_task(digest, b"hi") for _ in range(300)]
# Ends here: no wait, no close. Workers are still ending tasks and calling Python.
"""

COUNTED = """
import json, sys
from vyr import _exit
from vyr.runtime import Runtime
from vyr.telemetry.pipeline import Telemetry

node = Runtime(sys.argv[1])
node.trust_add(open(sys.argv[3]).read())
digest = node.put_module_file(sys.argv[2]).digest
node.submit_task(digest, b"hi").wait()
_exit.run()  # what atexit runs; then read the counters it left
processor = Telemetry.default().processor
print(json.dumps({"exported": processor.exported, "dropped": processor.dropped}))
"""


def _child(
    script: str, tmp_path: Path, signed: Signed, **otel: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "VYR_"))}
    public_key = tmp_path / "dev.key.pub"
    public_key.write_text(signed.public_key)
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "home"), str(signed.module("hello")), str(public_key)],
        env={**env, **otel}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_exit_with_tasks_in_flight_closes_the_node_first(
    tmp_path: Path, signed: Signed, receiver: GrpcReceiver
) -> None:
    for _ in range(3):
        done = _child(
            IN_FLIGHT,
            tmp_path,
            signed,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            VYR_TELEMETRY_EXIT_TIMEOUT_MS="20000",  # what is asserted is the order, not the speed
        )
        assert done.returncode == 0, done.stderr
        assert "panicked" not in done.stderr and "not initialized" not in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
    # Every task the exit closed still produced its spans (cancelled or not).
    roots = [s for s in receiver.received.spans if s["name"] == "vyr.submit"]
    assert len(roots) == 3 * 301


def test_spans_the_exit_cannot_deliver_are_counted_dropped(tmp_path: Path, signed: Signed) -> None:
    done = _child(
        COUNTED,
        tmp_path,
        signed,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_METRICS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts == {"exported": 0, "dropped": {"queue_full": 0, "export_failed": 5}}
