"""`make demo` (`python -m workloads.demo`): what VYR claims, shown on an embedded node.

1. the reference workloads run as a user would run them through `vyr.Runtime`;
2. a warm task's start latency, measured next to starting a process and a container;
3. a tampered artifact is refused before anything compiles;
4. the CLI and daemon commands to try next (the README's, tested verbatim there).

Everything happens in a temporary node home, removed at the end (so no path into it is
printed): a key is generated and trusted, each guest is signed and put.
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

from workloads import demo_startup, gen_events, reference_transform
from workloads.collector import decode

HERE = Path(__file__).resolve().parent

GUESTS = ("hello", "event-transform", "collector", "anomaly", "state-file")
EVENTS = 50_000

# Section headings, in order (tests/workloads/test_demo.py finds the sections by them).
SECTIONS = (
    "1. the reference workloads",
    "2. start latency, measured now",
    "3. a tampered artifact is refused",
    "4. try next",
)

# The README's "Use it" lines (tests/packaging/test_readme_commands.py runs those verbatim;
# tests/workloads/test_demo.py checks that each line here is one of them).
NEXT_COMMANDS = (
    "source .venv/bin/activate",
    "vyr keygen ~/.vyr/dev.key && vyr trust add ~/.vyr/dev.key.pub",
    "vyr sign workloads/build/hello.wasm --key ~/.vyr/dev.key",
    "echo hello | vyr run workloads/build/hello.wasm --input -",
)
DAEMON_COMMANDS = (
    "vyr daemon",
    "id=$(echo hello | vyr task submit workloads/build/hello.wasm)",
    'vyr task wait "$id" && vyr traces --task "$id"',
)


def main() -> int:
    """Runs the four sections; exits non-zero if a claim does not hold."""
    with tempfile.TemporaryDirectory(prefix="vyr-demo-") as scratch:
        work = Path(scratch)
        key, public = generate_key(work / "demo.key")
        with vyr.Runtime(work / "home") as node:
            node.trust_add(public.read_text())
            digests = {name: put(node, key, work, name) for name in GUESTS}
            heading(0)
            print(
                f"node home: a temporary directory (removed at the end); "
                f"signer {node.trust_list()[0][0][:23]}…\n"
            )
            rows = [
                *event_transform(node, digests),
                *collector(node, digests),
                anomaly(node, digests),
            ]
            summary(rows)
            heading(1)
            demo_startup.report(startup(node, digests["hello"]))
            heading(2)
            tampered(node, key, work)
    heading(3)
    try_next()
    return 0


def heading(number: int) -> None:
    print(f"\n== {SECTIONS[number]} ==")


def summary(rows: list[tuple[str, vyr.TaskResult, str]]) -> None:
    width = max(len(row[0]) for row in rows)
    print(f"\n{'run'.ljust(width)}  status     wall ms  peak mem  artifact")
    for label, result, digest in rows:
        wall_ms = result.usage["wall_ns"] / 1e6
        memory = f"{result.usage['peak_memory_bytes'] / 2**20:.1f} MiB"
        print(
            f"{label.ljust(width)}  {result.status:<9} {wall_ms:8.2f}  {memory:>8}  {digest[:19]}…"
        )
    print("\nEvery run above used a signed, digest-verified artifact; see docs/workloads.md.")


def startup(node: vyr.Runtime, hello: str) -> list[demo_startup.Measured]:
    native = HERE / "build" / "hello.native"
    return [
        *demo_startup.warm_task(node, hello),
        *demo_startup.processes(native),
        demo_startup.container(native),
    ]


def tampered(node: vyr.Runtime, key: Path, work: Path) -> None:
    """Signs a copy of hello, flips one bit of its module, and puts it: the node must refuse."""
    module = work / "tampered" / "hello.wasm"
    module.parent.mkdir()
    shutil.copy(HERE / "build" / "hello.wasm", module)
    sign_module(module, key)
    data = bytearray(module.read_bytes())
    offset = len(data) // 2
    data[offset] ^= 0x01
    module.write_bytes(bytes(data))
    print(f"signed hello.wasm, then flipped bit 0 of byte {offset} of {len(data)}; putting it:")
    before = {artifact.digest for artifact in node.list_artifacts()}
    try:
        node.put_module_file(module)
    except vyr.VyrError as error:
        print(f"refused: {type(error).__name__}: {error}")
        if {artifact.digest for artifact in node.list_artifacts()} != before:
            raise SystemExit("the refused artifact changed what the node stores") from error
        print(
            f"nothing was stored or compiled: the node still holds the same {len(before)} artifacts"
        )
        return
    raise SystemExit("a tampered artifact was accepted")


def try_next() -> None:
    print("The demo's node is gone; these use your own (~/.local/share/vyr, or $VYR_HOME):\n")
    for line in NEXT_COMMANDS:
        print(f"  {line}")
    print("\nWith a daemon (the first line in a second terminal, until Ctrl-C):\n")
    for line in DAEMON_COMMANDS:
        print(f"  {line}")
    print('\nMore: README.md ("Use it"), docs/cli.md, docs/api.md; `make help` lists the targets.')


def put(node: vyr.Runtime, key: Path, work: Path, name: str) -> str:
    module = work / f"{name}.wasm"
    shutil.copy(HERE / "build" / f"{name}.wasm", module)
    sign_module(module, key)
    return node.put_module_file(module).digest


def event_transform(
    node: vyr.Runtime, digests: dict[str, str]
) -> list[tuple[str, vyr.TaskResult, str]]:
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


def collector(node: vyr.Runtime, digests: dict[str, str]) -> list[tuple[str, vyr.TaskResult, str]]:
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


def anomaly(node: vyr.Runtime, digests: dict[str, str]) -> tuple[str, vyr.TaskResult, str]:
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
