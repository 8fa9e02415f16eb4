"""Receipts through a real daemon (vyr.Client): one per outcome, the same bytes after a restart,
and replays of the stateless reference workloads, run deterministically, that match."""

from __future__ import annotations

from pathlib import Path

import pytest
from vyr.errors import TaskNotEnded, TaskNotFound
from vyr.receipts import verify
from vyr.receipts.replay_run import replay_receipt
from vyr.types import Resources

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed, sign_guests

LONG = ["--count", "2000000000"]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("guests"), ("hello", "anomaly"))


def test_daemon_receipts_for_every_outcome_survive_a_restart(
    tmp_path: Path, signed: Signed, daemons: list[Daemon]
) -> None:
    from vyr.client import Client

    home = tmp_path / "home"
    daemons.append(start_daemon(home))
    with Client(daemons[-1].endpoint) as client:
        client.trust_add(signed.public_key)
        hello = client.put_module_file(signed.module("hello")).digest
        anomaly = client.put_module_file(signed.module("anomaly")).digest
        results = {
            "succeeded": client.run(hello, b"hi", env={"A": "1"}, deterministic=True),
            "failed": client.run(hello, b"hi", args=["3"]),
            "trapped": client.run(hello, b"x", resources=Resources(memory_bytes=65536)),
            "deadline_exceeded": client.run(
                anomaly, args=LONG, resources=Resources(timeout_s=0.05)
            ),
        }
        running = client.submit_task(anomaly, args=LONG)
        with pytest.raises(TaskNotEnded):
            client.task_receipt(running.id)
        client.cancel_task(running.id)
        results["cancelled"] = running.wait(30)
        with pytest.raises(TaskNotFound):
            client.task_receipt("t-unknown")
        identity = client.node_key()
        receipts = {}
        for status, result in results.items():
            assert result.status == status
            receipt = client.task_receipt(result.id)
            predicate = verify(receipt, [identity.public_key]).predicate
            assert predicate["outcome"]["status"] == status
            assert predicate["args"] == result.args and predicate["env"] == result.env
            assert predicate["requestedResources"]["memoryBytes"] == (
                65536 if status == "trapped" else None
            )
            receipts[result.id] = receipt
    daemons[-1].stop()
    daemons.append(start_daemon(home))
    with Client(daemons[-1].endpoint) as client:
        assert client.node_key() == identity
        for task_id, receipt in receipts.items():
            assert client.task_receipt(task_id) == receipt  # byte for byte, from the journal


@pytest.mark.parametrize(
    ("guest", "input_bytes", "args"),
    [
        ("hello", b"deterministic\n", []),
        ("anomaly", b"", ["--count", "20000", "--window", "64", "--seed", "7"]),
    ],
)
def test_deterministic_reference_workloads_replay_to_the_same_digests(
    tmp_path: Path,
    signed: Signed,
    daemons: list[Daemon],
    guest: str,
    input_bytes: bytes,
    args: list[str],
) -> None:
    from vyr.client import Client

    home = tmp_path / "home"
    daemons.append(start_daemon(home))
    with Client(daemons[-1].endpoint) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module(guest)).digest
        # hello's input travels inline: the daemon keeps a deterministic task's input itself.
        given = input_bytes if guest == "hello" else client.put_input(input_bytes)
        result = client.run(digest, given, args=args, deterministic=True)
        assert result.status == "succeeded", result.reason
        statement = verify(client.task_receipt(result.id), [client.node_key().public_key]).statement
        replayed = replay_receipt(client, statement, home=home)
        assert replayed.deterministic and replayed.matches, replayed.to_json()
        assert set(replayed.compared) == {"stdout", "stderr"}
