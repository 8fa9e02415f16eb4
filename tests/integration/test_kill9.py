"""kill -9 under load, many times: after every restart the node has lost nothing it promised.

One daemon home lives through `KILL9_ROUNDS` cycles (default 55; `VYR_KILL9_ROUNDS` for a longer
soak). Each cycle: start `vyr daemon`, check the node, put load on it from several threads
(submits of short tasks, half of them keyed, some waited for; puts of distinct signed artifacts, some of a few
MiB), SIGKILL it at a random moment, repeat. After every restart:

- 0 tasks left queued/running: every journal row is terminal; rows the crash interrupted are
  `failed` with reason `node_restarted` and no exit code;
- 0 accepted tasks missing: every task id a client got back is in the journal, a result a client
  saw is still readable with the same output, and resubmitting a key (also one whose submit
  was cut off by the kill) returns the journal's task, never a second one;
- 0 torn artifacts: every acknowledged put is listed, and every listed artifact loads (the store
  verifies it again) and runs;
- the trust store holds exactly the one key, and the journal passes SQLite's integrity check.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from vyr.client import Client
from vyr.errors import VyrError
from vyr.keys import public_key_hex
from vyr.types import TERMINAL_STATUSES

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed

KILL9_ROUNDS = int(os.environ.get("VYR_KILL9_ROUNDS", "55"))
SUBMITTERS = 6
LOAD_S = (0.05, 0.6)  # the kill comes at a uniformly random moment in this window
SHORT_ANOMALY = ["--count", "60000", "--window", "64"]  # a few ms: often running at the kill
ARTIFACT_VARIANTS = 400


@dataclass
class Ledger:
    """What clients were told, across every cycle (the ground truth to check a restart with)."""

    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> task id
    unkeyed: list[str] = field(default_factory=list)  # ids of accepted submits without a key
    cut_off: set[str] = field(default_factory=set)  # keys whose submit the kill interrupted
    outputs: dict[str, bytes] = field(default_factory=dict)  # task id -> stdout a wait returned
    put: set[str] = field(default_factory=set)  # acknowledged artifact digests
    # idempotency key -> the input it was sent with (None: the anomaly guest): a resubmit must
    # repeat the same request, since a key reused for another one is refused (issue 13 item 5).
    requests: dict[str, bytes | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _variants(signed: Signed, directory: Path, count: int) -> list[Path]:
    """Distinct valid modules: hello.wasm plus a custom section (ignored by the engine), signed.
    Every 16th carries 3 MiB, so some puts are still being written when the kill comes."""
    from vyr.keys import sign_module

    directory.mkdir()
    base = signed.module("hello").read_bytes()
    modules = []
    for index in range(count):
        payload = index.to_bytes(4, "little") * (
            3 << 18 if index % 16 == 0 else random.randrange(1, 4096)
        )
        name = b"vyr-kill9"
        body = _uleb(len(name)) + name + payload
        path = directory / f"v{index}.wasm"
        path.write_bytes(base + b"\x00" + _uleb(len(body)) + body)
        sign_module(path, signed.key)
        modules.append(path)
    return modules


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _load(
    endpoint: str,
    ledger: Ledger,
    digests: dict[str, str],
    modules: list[Path],
    cycle: int,
    stop: threading.Event,
) -> list[threading.Thread]:
    """Starts the load threads; they run until `stop` is set or the daemon disappears."""

    def submitter(worker: int) -> None:
        rng = random.Random(cycle * 1000 + worker)
        with Client(endpoint) as client:
            for index in range(1_000_000):
                if stop.is_set():
                    return
                key = f"c{cycle}-w{worker}-{index}"
                data = f"task {key}".encode()
                hello = rng.random() < 0.7
                # Unkeyed submits take the daemon's other path (accepted on the event loop,
                # journalled in a shared commit): both must keep the promise.
                keyed = rng.random() < 0.5
                if keyed:
                    with ledger.lock:
                        ledger.requests[key] = data if hello else None
                try:
                    if hello:
                        task = client.submit_task(
                            digests["hello"], data, idempotency_key=key if keyed else None
                        )
                    else:
                        task = client.submit_task(
                            digests["anomaly"],
                            args=SHORT_ANOMALY,
                            idempotency_key=key if keyed else None,
                        )
                except VyrError:
                    if keyed:
                        with ledger.lock:
                            ledger.cut_off.add(key)
                    return
                with ledger.lock:
                    if keyed:
                        ledger.accepted[key] = task.id
                    else:
                        ledger.unkeyed.append(task.id)
                if hello and rng.random() < 0.3:
                    try:
                        result = task.wait(timeout=10)
                    except VyrError:
                        return
                    assert (result.status, result.stdout) == ("succeeded", data.upper()), result
                    with ledger.lock:
                        ledger.outputs[task.id] = result.stdout

    def putter() -> None:
        rng = random.Random(cycle)
        with Client(endpoint) as client:
            while not stop.is_set():
                module = rng.choice(modules)
                try:
                    digest = client.put_module_file(module).digest
                except VyrError:
                    return
                with ledger.lock:
                    ledger.put.add(digest)

    threads = [
        threading.Thread(target=submitter, args=(n,), daemon=True) for n in range(SUBMITTERS)
    ]
    threads.append(threading.Thread(target=putter, daemon=True))
    for thread in threads:
        thread.start()
    return threads


def _check(daemon: Daemon, ledger: Ledger, signed: Signed, key_id: str) -> int:
    """Asserts the restart invariants; returns how many rows are marked node_restarted so far."""
    home = daemon.home
    database = sqlite3.connect(f"file:{home / 'journal.db'}?mode=ro", uri=True)
    try:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = database.execute(
            "SELECT id, status, exit_code, reason, idempotency_key FROM tasks"
        ).fetchall()
    finally:
        database.close()
    by_id = {row[0]: row for row in rows}
    by_key = {row[4]: row[0] for row in rows if row[4]}
    left = [row for row in rows if row[1] not in TERMINAL_STATUSES]
    assert left == [], f"{len(left)} task(s) left queued/running after restart: {left[:3]}"
    interrupted = [row for row in rows if row[3] == "node_restarted"]
    assert all(row[1] == "failed" and row[2] is None for row in interrupted)
    with ledger.lock:
        accepted, cut_off, outputs, put = (
            dict(ledger.accepted),
            set(ledger.cut_off),
            dict(ledger.outputs),
            set(ledger.put),
        )
        unkeyed = list(ledger.unkeyed)
    missing = [task_id for task_id in [*accepted.values(), *unkeyed] if task_id not in by_id]
    assert missing == [], f"{len(missing)} accepted task(s) missing from the journal: {missing[:3]}"
    assert all(by_key[key] == task_id for key, task_id in accepted.items())

    with Client(daemon.endpoint) as client:
        # Trust store intact: exactly the one key, the same text in the API and on disk.
        public_hex = public_key_hex(signed.public_key)
        assert [(k, text.strip()) for k, text in client.trust_list()] == [(key_id, public_hex)]
        (trusted,) = (home / "trust").iterdir()
        assert trusted.read_text().strip() == public_hex
        # Results a client saw stay readable (output from the blob store), a sample per restart.
        for task_id in random.sample(sorted(outputs), min(20, len(outputs))):
            result = client.task(task_id).result()
            assert (result.status, result.stdout) == ("succeeded", outputs[task_id])
        # A key never names two tasks: resubmitting one cut off by the kill gives the journal's
        # task if the submit had been accepted; an accepted key gives its task back.
        hello, anomaly = (
            next(a.digest for a in client.list_artifacts() if a.name == name)
            for name in ("hello", "anomaly")
        )
        for key in sorted(cut_off)[:10] + random.sample(sorted(accepted), min(10, len(accepted))):
            data = ledger.requests[key]
            if data is None:
                task_id = client.submit_task(anomaly, args=SHORT_ANOMALY, idempotency_key=key).id
            else:
                task_id = client.submit_task(hello, data, idempotency_key=key).id
            if key in by_key:
                assert task_id == by_key[key], key
            with ledger.lock:
                ledger.accepted[key] = task_id
                ledger.cut_off.discard(key)
        # No torn artifact: every acknowledged put is listed; every listed one loads and runs.
        listed = {a.digest for a in client.list_artifacts()}
        assert put <= listed, f"acknowledged puts missing: {sorted(put - listed)[:3]}"

        def runs(digest: str) -> None:
            if digest == anomaly:
                assert client.run(digest, args=SHORT_ANOMALY).status == "succeeded"
                return
            result = client.run(digest, b"intact")
            assert (result.status, result.stdout) == ("succeeded", b"INTACT"), (digest, result)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(runs, sorted(listed)))
    return len(interrupted)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill9_under_load_loses_nothing(
    tmp_path: Path, daemons: list[Daemon], signed: Signed
) -> None:
    from vyr import _core

    home = tmp_path / "home"
    modules = _variants(signed, tmp_path / "variants", ARTIFACT_VARIANTS)
    key_id = _core.key_id(public_key_hex(signed.public_key))
    ledger = Ledger()
    started = time.monotonic()

    daemon = start_daemon(home, "--grace", "0")
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        assert client.trust_add(signed.public_key) == key_id
        digests = {
            name: client.put_module_file(signed.module(name)).digest
            for name in ("hello", "anomaly")
        }
        ledger.put.update(digests.values())

    kills = marked = 0  # marked: journal rows a restart turned into failed/node_restarted
    for cycle in range(KILL9_ROUNDS):
        stop = threading.Event()
        threads = _load(daemon.endpoint, ledger, digests, modules, cycle, stop)
        time.sleep(random.uniform(*LOAD_S))
        daemon.kill()  # SIGKILL, mid-load
        kills += 1
        stop.set()
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive(), "a load thread hung after the kill"
        daemon = start_daemon(home, "--grace", "0")
        daemons.append(daemon)
        marked = _check(daemon, ledger, signed, key_id)

    with Client(daemon.endpoint) as client:  # finally, every output a waiter saw, not a sample
        for task_id, stdout in ledger.outputs.items():
            assert client.task(task_id).result().stdout == stdout, task_id
    assert daemon.terminate() == 0, daemon.stderr
    elapsed = time.monotonic() - started
    print(
        f"\nkill -9: {kills} kills in {elapsed:.1f} s; {len(ledger.accepted) + len(ledger.unkeyed)} tasks accepted, "
        f"{marked} marked node_restarted, {len(ledger.outputs)} outputs seen by waiters, "
        f"{len(ledger.put)} artifacts acknowledged"
    )
    assert kills >= 50 or KILL9_ROUNDS < 50
    assert len(ledger.accepted) > kills * 5 and len(ledger.unkeyed) > kills * 5, (
        "too little load to mean anything"
    )
    assert len(ledger.put) > 10, "too few artifact puts to mean anything"
    assert marked > 0, "no kill ever interrupted a task: the load or the kill timing is off"
