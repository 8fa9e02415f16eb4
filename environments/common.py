"""What every environment shares: the signed artifacts (one bundle), the workload inputs, the
workload runs themselves, a `vyr daemon` subprocess (`harness.daemon`) with peak-RSS
measurement, and the OTLP receiver (`harness.otlp`) with the OTEL_* variables that point at it.

The same bundle file is imported into every node, so every environment runs the very same
signed bytes; records carry the artifact digest to show it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.daemon import Daemon, start_daemon
from harness.guests import sign_guests
from harness.otlp import ReceiverProcess, receiver_process
from workloads import gen_events
from workloads.collector import decode

GUESTS = ("event-transform", "collector", "anomaly", "state-file")
WORKLOAD_NAMES = ("event-transform", "collector", "anomaly")


@dataclass(frozen=True)
class Scale:
    """Input sizes. `make environments` uses the defaults; the test suite a small one."""

    events: int = 100_000
    devices: int = 200
    batches: int = 8
    batch_size: int = 5_000
    anomaly_count: int = 4_000_000
    anomaly_window: int = 1024
    seed: int = 7


@dataclass(frozen=True)
class Inputs:
    """The bytes every environment feeds the workloads (generated once, seeded)."""

    device_table: bytes
    events: bytes
    batches: list[bytes]
    truth_ids: list[int]
    anomaly_args: list[str]
    scale: Scale

    @classmethod
    def generate(cls, scale: Scale) -> Inputs:
        devices = gen_events.make_devices(seed=scale.seed, count=scale.devices)
        events = "".join(
            gen_events.generate_events(seed=scale.seed, count=scale.events, devices=devices)
        )
        batches, truth = gen_events.generate_readings(
            seed=scale.seed, batches=scale.batches, batch_size=scale.batch_size
        )
        return cls(
            device_table=gen_events.devices_tsv(devices).encode(),
            events=events.encode(),
            batches=[batch.encode() for batch in batches],
            truth_ids=sorted(truth),
            anomaly_args=[
                "--count",
                str(scale.anomaly_count),
                "--window",
                str(scale.anomaly_window),
                "--seed",
                str(scale.seed),
            ],
            scale=scale,
        )


@dataclass(frozen=True)
class Artifacts:
    """The signed artifacts as one exported bundle, and the signer's public key."""

    bundle: Path
    public_key: Path
    digests: dict[str, str]


def prepare_artifacts(work: Path) -> Artifacts:
    """Signs copies of the built guests with a fresh key, puts them into a throw-away "build"
    node and exports them with `vyr artifact export` (the CLI, as an operator would)."""
    signed = sign_guests(work / "signing", GUESTS, key_name="release.key")
    digests = {
        name: "sha256:" + hashlib.sha256(signed.module(name).read_bytes()).hexdigest()
        for name in GUESTS
    }
    home = work / "build-node"
    vyr_cli(home, "trust", "add", str(signed.public_key_file))
    for name in GUESTS:
        vyr_cli(home, "artifact", "put", str(signed.module(name)))
    bundle = work / "workloads.vyrbundle"
    vyr_cli(home, "artifact", "export", *digests.values(), "--out", str(bundle))
    signed.key.unlink()  # the private key is needed for nothing else
    return Artifacts(bundle, signed.public_key_file, digests)


def vyr_cli(
    home: Path | None, *args: str, endpoint: str | None = None, env: dict[str, str] | None = None
) -> str:
    """Runs the `vyr` CLI; returns stdout, raises with stderr on failure."""
    command = [sys.executable, "-m", "vyr"]
    command += ["--home", str(home)] if home else []
    command += ["--endpoint", endpoint] if endpoint else []
    done = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"vyr {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout


# ---- workloads ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """One workload in one environment."""

    workload: str
    artifact_digest: str
    output_sha256: str
    wall_s: float
    peak_rss_bytes: int | None
    guest_peak_memory_bytes: int
    output_bytes: int
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    # The node's receipt for the workload's final task (the one whose stdout is the output),
    # verified with the node's public key; None where no VYR node ran it (wasmtime-py).
    receipt: ReceiptRecord | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Outcome:
        """An outcome from `asdict` (the driver's report)."""
        receipt = raw.get("receipt")
        return cls(**{**raw, "receipt": ReceiptRecord(**receipt) if receipt else None})


@dataclass
class ReceiptRecord:
    """A receipt as `run_workloads` checked it: who signed it, whether it verified against the
    node's own public key (and the output), and its subject digests (`stdout`, `stderr`,
    `state:NAME`), each `ALGORITHM:HEX`. The file is `file` in the environment's receipts
    directory."""

    file: str
    task_id: str
    key_id: str
    verified: bool
    subjects: dict[str, str]
    deterministic: bool
    error: str | None = None


class PeakRss:
    """Peak resident memory of one process, reset before each workload (`clear_refs` 5 resets
    VmHWM, the kernel's high-water mark). `pid` None: not measurable (records None)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def reset(self) -> None:
        if self.pid is not None:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def read(self) -> int | None:
        if self.pid is None:
            return None
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return None

    def extra(self) -> dict[str, Any]:
        """More measurements, for subclasses (an edge node adds its cgroup's peak)."""
        return {}


def run_workloads(
    node: Any, digests: dict[str, str], inputs: Inputs, peak: PeakRss, receipts: Path
) -> list[Outcome]:
    """The three workloads on `node` (a `vyr.Runtime` or `vyr.Client`), each timed and measured;
    each final task's receipt is fetched, kept in `receipts` and verified with the node's key."""
    outcomes = []
    receipts.mkdir(parents=True, exist_ok=True)
    node_key = node.node_key()
    (receipts / "node.pub").write_text(node_key.public_key)  # for checking them offline later
    for workload, body in (
        ("event-transform", _event_transform),
        ("collector", _collector),
        ("anomaly", _anomaly),
    ):
        peak.reset()
        started = time.perf_counter()
        final, output, guest_peak, detail = body(node, digests, inputs, workload)
        wall = time.perf_counter() - started
        receipt_file = receipts / f"{workload}.receipt.json"
        receipt_file.write_bytes(node.task_receipt(final.id))
        outcomes.append(
            Outcome(
                workload=workload,
                artifact_digest=digests[workload],
                output_sha256=hashlib.sha256(output).hexdigest(),
                wall_s=round(wall, 4),
                peak_rss_bytes=peak.read(),
                guest_peak_memory_bytes=guest_peak,
                output_bytes=len(output),
                detail=detail,
                extra=peak.extra(),
                receipt=check_receipt(receipt_file, final.id, node_key, output),
            )
        )
    return outcomes


def check_receipt(path: Path, task_id: str, node_key: Any, output: bytes) -> ReceiptRecord:
    """Verifies the receipt at `path` with the node's public key alone (as anyone offline
    would) and that its stdout subject is `output`; a refusal is recorded, not raised."""
    from vyr.errors import VyrError
    from vyr.receipts import decode_receipt, verify

    raw = path.read_bytes()
    try:
        statement = verify(raw, [node_key.public_key], subjects={"stdout": output}).statement
        verified, error = True, None
    except VyrError as refused:  # the report says why; the digests are still shown
        verified, error = False, f"{type(refused).__name__}: {refused}"
        try:
            statement = json.loads(decode_receipt(raw).payload)
        except (VyrError, ValueError):
            statement = {"subject": [], "predicate": {}}
    subjects = {
        subject["name"]: ", ".join(f"{k}:{v}" for k, v in sorted(subject["digest"].items()))
        for subject in statement["subject"]
    }
    return ReceiptRecord(
        file=path.name,
        task_id=task_id,
        key_id=node_key.key_id,
        verified=verified,
        subjects=subjects,
        deterministic=bool(statement["predicate"].get("deterministic")),
        error=error,
    )


def _checked(result: Any, what: str) -> Any:
    if not result.ok:
        stderr = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(
            f"{what}: {result.status} {result.reason or ''} exit {result.exit_code}: {stderr}"
        )
    return result


def _event_transform(
    node: Any, digests: dict[str, str], inputs: Inputs, name: str
) -> tuple[Any, bytes, int, str]:
    state = f"lookup-{os.getpid()}-{time.monotonic_ns()}"
    node.create_state(state)
    load = node.run(
        digests["state-file"],
        inputs.device_table,
        state_bindings=[f"{state}:rw"],
        args=["put", state, "devices.tsv"],
    )
    _checked(load, "load the device table")
    # deterministic: so its receipt can be replayed on another node to the same digests
    result = _checked(
        node.run(
            digests[name],
            inputs.events,
            state_bindings=[f"{state}:ro"],
            args=[state],
            deterministic=True,
        ),
        name,
    )
    return (
        result,
        result.stdout,
        int(result.usage.get("peak_memory_bytes", 0)),
        result.stderr.decode().strip(),
    )


def _collector(
    node: Any, digests: dict[str, str], inputs: Inputs, name: str
) -> tuple[Any, bytes, int, str]:
    state = f"site-{os.getpid()}-{time.monotonic_ns()}"
    node.create_state(state)
    peak = 0
    for number, batch in enumerate(inputs.batches, 1):
        collect = _checked(
            node.run(digests[name], batch, state_bindings=[f"{state}:rw"], args=["collect", state]),
            f"collect {number}",
        )
        peak = max(peak, int(collect.usage.get("peak_memory_bytes", 0)))
    forward = _checked(
        node.run(digests[name], state_bindings=[f"{state}:rw"], args=["forward", state]), "forward"
    )
    peak = max(peak, int(forward.usage.get("peak_memory_bytes", 0)))
    check_forwarded(forward.stdout, inputs)
    return forward, forward.stdout, peak, forward.stderr.decode().strip()


def check_forwarded(batch: bytes, inputs: Inputs) -> None:
    """The forwarded batch holds every reading once (the generator's ground truth)."""
    ids = [reading.id for reading in decode.decode(batch)]
    if sorted(ids) != inputs.truth_ids:
        raise RuntimeError(
            f"collector: forwarded {len(ids)} ids, {len(set(ids))} distinct; expected {len(inputs.truth_ids)}"
        )


def _anomaly(
    node: Any, digests: dict[str, str], inputs: Inputs, name: str
) -> tuple[Any, bytes, int, str]:
    result = _checked(node.run(digests[name], args=inputs.anomaly_args, deterministic=True), name)
    return (
        result,
        result.stdout,
        int(result.usage.get("peak_memory_bytes", 0)),
        result.stdout.decode().strip()[:80],
    )


def records(environment: str, outcomes: list[Outcome], **notes: Any) -> list[dict[str, Any]]:
    """Portability records (the JSON rows) for one environment."""
    rows = []
    for outcome in outcomes:
        row = {"environment": environment, **asdict(outcome)}
        row.update({"extra": {**outcome.extra, **notes}})
        rows.append(row)
    return rows


# ---- a daemon subprocess and the OTLP receiver -------------------------------------------


@contextlib.contextmanager
def daemon(
    home: Path,
    daemon_args: Sequence[str],
    *,
    wrapper: Sequence[str] = (),
    env: dict[str, str] | None = None,
    expect_listeners: int = 1,
) -> Iterator[Daemon]:
    """`[wrapper...] python -m vyr --home HOME daemon ARGS`, started once it reports its
    listeners, always stopped; it gets SIGTERM if the runner dies. Its stderr goes to HOME.log."""
    home.mkdir(parents=True, exist_ok=True)
    log = home.with_suffix(".log")
    started = start_daemon(home, *daemon_args, expect_listeners=expect_listeners, wrapper=wrapper,
                           env=env, log=log, detached=True)  # fmt: skip
    try:
        yield started
    finally:
        code = started.stop(20.0)
        if code != 0:
            print(f"  note: daemon exited with {code}; log {log}", file=sys.stderr)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (for cleaning up after a killed run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_command(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs a set-up command (ip, taskset ...), raising with its stderr on failure."""
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def otlp_receiver(
    summary: Path, host: str = "127.0.0.1", port: int = 0, wrapper: Sequence[str] = ()
) -> contextlib.AbstractContextManager[ReceiverProcess]:
    """The OTLP/HTTP receiver in its own process (optionally inside `ip netns exec NS`); its
    `read()` is the summary of what arrived."""
    return receiver_process(summary, protocol="http", host=host, port=port, wrapper=wrapper)


def otel_environment(endpoint: str, service: str) -> dict[str, str]:
    """Standard OTEL_* variables: OTLP over HTTP/protobuf to `endpoint`, short intervals."""
    return {
        "OTEL_SERVICE_NAME": service,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
