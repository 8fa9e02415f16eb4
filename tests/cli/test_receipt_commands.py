"""`vyr receipt verify|show` as a new user runs them, in a fresh HOME: exit codes 0 / 1 / 2,
one `error:` line and one `hint:`, data on stdout."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cli_harness import Shell
from vyr.receipts import (
    BindingFacts,
    ReceiptBatcher,
    ReceiptSigner,
    sign_receipt,
    statement_bytes,
    tree_digest,
)

from harness.receipts import STDOUT, typical_facts


@pytest.fixture()
def receipt(shell: Shell) -> Path:
    """A node key made with `vyr keygen` (~/.vyr/node.key), a receipt it signed for a run
    whose stdout is ./out.txt and whose state `cache` ended as ./cache."""
    done = shell.vyr("keygen", str(shell.home / ".vyr" / "node.key"))
    assert done.returncode == 0, done.stderr
    cache = shell.cwd / "cache"
    cache.mkdir()
    (cache / "hits").write_text("3\n")
    (shell.cwd / "out.txt").write_bytes(STDOUT)
    signer = ReceiptSigner.from_key_file(shell.home / ".vyr" / "node.key")
    facts = typical_facts(signer.key_id)
    binding = BindingFacts("cache", "rw", "/state/cache", "1" * 64, tree_digest(cache))
    facts = dataclasses.replace(facts, bindings=(binding,))
    path = shell.cwd / "task.receipt.json"
    path.write_bytes(sign_receipt(statement_bytes(facts), signer))
    return path


def test_verify_a_good_receipt_and_its_outputs(shell: Shell, receipt: Path) -> None:
    done = shell.vyr(
        "receipt",
        "verify",
        receipt.name,
        "--key",
        _public(shell),
        "--stdout",
        "out.txt",
        "--state",
        "cache=cache",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("verified: receipt of task t-0001, artifact hello (sha256:")
    assert lines[0].endswith("), succeeded, exit 0")
    assert lines[1].startswith("signed by sha256:")
    assert lines[2] == "matches: stdout, state:cache"

    as_json = shell.vyr("receipt", "verify", receipt.name, "--key", _public(shell), "--json")
    data = json.loads(as_json.stdout)
    assert data["verified"] is True and data["form"] == "envelope" and data["log"] is None
    assert data["statement"]["predicate"]["taskId"] == "t-0001"


def test_a_failed_check_exits_1_and_says_what_does_not_match(shell: Shell, receipt: Path) -> None:
    (shell.cwd / "cache" / "hits").write_text("4\n")
    done = shell.vyr(
        "receipt", "verify", receipt.name, "--key", _public(shell), "--state", "cache=cache"
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: state:cache: directory cache hashes to vyrTreeV1 ")
    assert "Traceback" not in done.stderr

    envelope = json.loads(receipt.read_text())
    envelope["payloadType"] = "application/vnd.in-toto+jsoN"
    receipt.write_text(json.dumps(envelope))
    done = shell.vyr("receipt", "verify", receipt.name, "--key", _public(shell))
    assert done.returncode == 1
    assert done.stderr.startswith("error: no signature verifies with the trusted keys")


def test_a_receipt_from_another_key_exits_1_with_a_hint(shell: Shell, receipt: Path) -> None:
    assert shell.vyr("keygen", str(shell.home / "other.key")).returncode == 0
    done = shell.vyr("receipt", "verify", receipt.name, "--key", str(shell.home / "other.key.pub"))
    assert done.returncode == 1
    error, hint = done.stderr.splitlines()
    assert (
        error.startswith("error: signed by sha256:")
        and "which is not among the trusted keys" in error
    )
    assert hint == "hint: give the signing node's public key with --key NODE.pub"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--key", "{home}/.vyr/node.key"), "private key"),  # the private key, not the .pub
        ((), "--node-key PUB"),
        (("--key", "{home}/.vyr/node.key.pub", "--state", "cache"), "expected NAME=DIR"),
        (("--key", "{home}/.vyr/node.key.pub", "--stdout", "missing.txt"), "does not exist"),
    ],
    ids=["private-key", "no-key", "state-form", "no-stdout-file"],
)
def test_usage_errors_exit_2(shell: Shell, receipt: Path, args: tuple[str, ...], says: str) -> None:
    filled = [arg.format(home=shell.home) for arg in args]
    done = shell.vyr("receipt", "verify", receipt.name, *filled)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert done.stderr.count("hint: ") == 1 and "vyr trust" not in done.stderr


def test_show_says_what_the_receipt_claims_without_trusting_it(shell: Shell, receipt: Path) -> None:
    done = shell.vyr("receipt", "show", receipt.name)
    assert done.returncode == 0, done.stderr
    assert "not verified" in done.stderr
    rows = dict(
        (line[:14].strip(), line[14:]) for line in done.stdout.splitlines() if line[:14].strip()
    )
    assert rows["form"] == "envelope"
    assert rows["task"] == "t-0001"
    assert rows["outcome"] == "succeeded, exit 0"
    assert rows["args"] == "hello --upper"
    assert rows["started"] == "2026-01-01T00:00:00.000000123Z"
    assert rows["subjects"].startswith("stdout sha256:")
    assert rows["bindings"].startswith("cache rw at /state/cache, before vyrTreeV1:1111")

    data = json.loads(shell.vyr("receipt", "show", receipt.name, "--json").stdout)
    assert data["verified"] is False and data["key_ids"] == [
        data["statement"]["predicate"]["node"]["keyId"]
    ]


def test_show_and_verify_a_batched_receipt(shell: Shell, receipt: Path) -> None:
    signer = ReceiptSigner.from_key_file(shell.home / ".vyr" / "node.key")
    issued: list[bytes] = []
    with ReceiptBatcher(signer, lambda rs: issued.extend(r.receipt for r in rs)) as batcher:
        for n in range(3):
            facts = dataclasses.replace(typical_facts(signer.key_id), task_id=f"t-{n}")
            batcher.add(statement_bytes(facts))
    batched = shell.cwd / "batched.json"
    batched.write_bytes(issued[1])
    shown = shell.vyr("receipt", "show", batched.name)
    assert shown.stdout.splitlines()[0] == "form          batched (leaf 1 of 3)"
    done = shell.vyr(
        "receipt", "verify", batched.name, "--key", _public(shell), "--stdout", "out.txt"
    )
    assert done.returncode == 0, done.stderr
    assert "(batched: leaf 1 of 3, log vyr.dev/receipt-log/" in done.stdout


def test_receipt_is_listed_in_help(shell: Shell) -> None:
    listed = shell.vyr("--help").stdout
    assert "receipt" in listed and "Verify, show and replay receipts" in listed
    assert "vyr receipt verify" in shell.vyr("receipt", "verify", "--help").stdout


def _public(shell: Shell) -> str:
    return str(shell.home / ".vyr" / "node.key.pub")
