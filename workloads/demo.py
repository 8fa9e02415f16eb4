"""`make demo` (`python -m workloads.demo`): the reference workloads on an embedded VYR node, with a short summary.

Everything happens in a temporary node home: a key is generated and trusted, each guest is
signed and put, then the workloads run exactly as a user would run them through `vyr.Runtime`.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import vyr
from vyr.keys import generate_key, sign_module

from workloads import gen_events, reference_transform
from workloads.collector import decode

HERE = Path(__file__).resolve().parent

GUESTS = ("event-transform", "collector", "anomaly", "state-file")
EVENTS = 50_000


def main() -> int:
    """Runs the three workloads and prints one line per run."""
    with tempfile.TemporaryDirectory(prefix="vyr-demo-") as scratch:
        work = Path(scratch)
        key, public = generate_key(work / "demo.key")
        with vyr.Runtime(work / "home") as node:
            node.trust_add(public.read_text())
            digests = {name: put(node, key, work, name) for name in GUESTS}
            print(f"node home {work / 'home'}; signer {node.trust_list()[0][0][:23]}…\n")
            rows = [
                *event_transform(node, digests),
                *collector(node, digests),
                anomaly(node, digests),
            ]
    width = max(len(row[0]) for row in rows)
    print(f"\n{'run'.ljust(width)}  status     wall ms  peak mem  artifact")
    for label, result, digest in rows:
        wall_ms = result.usage["wall_ns"] / 1e6
        memory = f"{result.usage['peak_memory_bytes'] / 2**20:.1f} MiB"
        print(
            f"{label.ljust(width)}  {result.status:<9} {wall_ms:8.2f}  {memory:>8}  {digest[:19]}…"
        )
    print("\nEvery run above used a signed, digest-verified artifact; see docs/workloads.md.")
    return 0


def put(node: vyr.Runtime, key: Path, work: Path, name: str) -> str:
    module = work / f"{name}.wasm"
    shutil.copy(HERE / "build" / f"{name}.wasm", module)
    sign_module(module, key)
    return node.put_module_file(module).digest


def event_transform(node: vyr.Runtime, digests: dict[str, str]) -> list[tuple[str, object, str]]:
    devices = gen_events.make_devices(seed=7, count=200)
    table = gen_events.devices_tsv(devices).encode()
    events = "".join(gen_events.generate_events(seed=7, count=EVENTS, devices=devices)).encode()
    node.create_state("lookup")
    load = node.run(
        digests["state-file"],
        table,
        state_bindings=["lookup:rw"],
        args=["put", "lookup", "devices.tsv"],
    )
    check(load, "load the device table into state 'lookup'")
    result = node.run(
        digests["event-transform"], events, state_bindings=["lookup:ro"], args=["lookup"]
    )
    check(result, "event-transform")
    expected_out, expected_err = reference_bytes(table, events)
    same = result.stdout == expected_out and result.stderr == expected_err
    print(f"event-transform: {EVENTS} events in, summary {result.stderr.decode().strip()}")
    print(
        f"  output sha256 {hashlib.sha256(result.stdout).hexdigest()[:16]}…, matches the Python reference: {'yes' if same else 'NO'}"
    )
    if not same:
        raise SystemExit("event-transform output differs from the reference implementation")
    return [
        ("load lookup table", load, digests["state-file"]),
        ("event-transform", result, digests["event-transform"]),
    ]


def reference_bytes(table: bytes, events: bytes) -> tuple[bytes, bytes]:
    return reference_transform.transform(events, table)


def collector(node: vyr.Runtime, digests: dict[str, str]) -> list[tuple[str, object, str]]:
    batches, truth = gen_events.generate_readings(seed=11, batches=6, batch_size=2000)
    node.create_state("site")
    rows = []
    for number, batch in enumerate(batches, 1):
        result = node.run(
            digests["collector"],
            batch.encode(),
            state_bindings=["site:rw"],
            args=["collect", "site"],
        )
        check(result, f"collect batch {number}")
        rows.append((f"collect batch {number}", result, digests["collector"]))
    forward = node.run(digests["collector"], state_bindings=["site:rw"], args=["forward", "site"])
    check(forward, "forward")
    readings = decode.decode(forward.stdout)
    ids = [r.id for r in readings]
    lost = len(set(truth) - set(ids))
    duplicated = len(ids) - len(set(ids))
    raw = sum(len(b) for b in batches)
    print(
        f"collector: {len(batches)} offline batches ({raw} bytes) -> one forwarded batch of {len(readings)} readings, "
        f"{len(forward.stdout)} bytes; lost {lost}, duplicated {duplicated}"
    )
    if lost or duplicated or len(ids) != len(truth):
        raise SystemExit("collector lost or duplicated readings")
    rows.append(("forward", forward, digests["collector"]))
    return rows


def anomaly(node: vyr.Runtime, digests: dict[str, str]) -> tuple[str, object, str]:
    started = time.perf_counter()
    result = node.run(digests["anomaly"], args=["--count", "2000000", "--window", "512"])
    check(result, "anomaly")
    print(
        f"anomaly: 2,000,000 samples in {time.perf_counter() - started:.2f} s -> {result.stdout.decode().strip()[:90]}…"
    )
    return ("anomaly (CPU-bound)", result, digests["anomaly"])


def check(result: vyr.TaskResult, what: str) -> None:
    if not result.ok:
        raise SystemExit(
            f"{what} failed: {result.status}: {result.reason}\n{result.stderr.decode(errors='replace')}"
        )


if __name__ == "__main__":
    sys.exit(main())
