"""What a receipt adds to a warm task (docs/receipts.md, "Cost"), all measured in one run.

Cases: a trivial call (the measurement floor), a warm `hello` task (what the cost is compared
with), building one typical statement, signing it on its own (DSSE, one ed25519 signature per
task) and issuing it batched (a leaf per task, one signed checkpoint per BATCH receipts,
proofs and receipt bytes included; timed per batch, reported per receipt).
"""

from __future__ import annotations

from typing import Any

import pytest
from vyr.receipts import ReceiptBatcher, ReceiptSigner, RunFacts, sign_receipt, statement_bytes

from harness.receipts import typical_facts

ROUNDS = 3000
BATCH = 256
BATCH_ROUNDS = 60


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> ReceiptSigner:
    from vyr.keys import generate_key

    private, _ = generate_key(tmp_path_factory.mktemp("receipt-key") / "node.key")
    return ReceiptSigner.from_key_file(private)


@pytest.fixture(scope="module")
def facts(signer: ReceiptSigner) -> RunFacts:
    return typical_facts(signer.key_id)


def _nothing() -> None:
    return None


def test_receipt_floor(benchmark: Any) -> None:
    """A call that does nothing: the timer's own floor."""
    benchmark.group = "receipts"
    benchmark.pedantic(_nothing, rounds=ROUNDS, warmup_rounds=100)
    benchmark.extra_info.update(key="receipt_floor", label="a call that does nothing")


def test_receipt_warm_task(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """The warm task a receipt's cost is measured against (as `warm_vyr`)."""
    digest = digests["hello"]
    for _ in range(200):
        node.run(digest, b"hi")
    benchmark.group = "receipts"
    result = benchmark.pedantic(node.run, args=(digest, b"hi"), rounds=ROUNDS, warmup_rounds=0)
    assert result.stdout == b"HI"
    benchmark.extra_info.update(
        key="receipt_warm_task", label="warm task: node.run(hello, b'hi')", baseline=True
    )


def test_receipt_statement(benchmark: Any, facts: RunFacts) -> None:
    """Building and encoding one statement: paid per task in either form."""
    benchmark.group = "receipts"
    payload = benchmark.pedantic(statement_bytes, args=(facts,), rounds=ROUNDS, warmup_rounds=100)
    benchmark.extra_info.update(
        key="receipt_statement",
        versus="receipt_warm_task",
        label="statement_bytes(facts): build + encode one statement",
        statement_bytes=len(payload),
    )


def test_receipt_signed_each(benchmark: Any, facts: RunFacts, signer: ReceiptSigner) -> None:
    """One DSSE envelope per task: an ed25519 signature each."""
    payload = statement_bytes(facts)
    benchmark.group = "receipts"
    receipt = benchmark.pedantic(
        sign_receipt, args=(payload, signer), rounds=ROUNDS, warmup_rounds=100
    )
    benchmark.extra_info.update(
        key="receipt_signed_each",
        versus="receipt_warm_task",
        label="sign_receipt(statement): one signature per task",
        receipt_bytes=len(receipt),
    )


def test_receipt_batched(benchmark: Any, facts: RunFacts, signer: ReceiptSigner) -> None:
    """BATCH receipts under one checkpoint; the time is per batch, `per_receipt_us` per task."""
    payload = statement_bytes(facts)
    issued: list[Any] = []  # the last batch only: a growing list would time the allocator

    def keep(receipts: list[Any]) -> None:
        issued[:] = receipts

    batcher = ReceiptBatcher(signer, keep, max_receipts=BATCH, max_delay_ms=3.6e6)

    def one_batch() -> None:
        for _ in range(BATCH):
            batcher.add(payload)  # the BATCH-th add seals the batch, inline

    benchmark.group = "receipts"
    benchmark.pedantic(one_batch, rounds=BATCH_ROUNDS, warmup_rounds=2)
    assert len(issued) == BATCH and issued[-1].log_index == BATCH * (BATCH_ROUNDS + 2) - 1
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update(
        key="receipt_batched",
        label=f"{BATCH} x ReceiptBatcher.add(statement), one checkpoint: per batch",
        per_receipt_us=median_s / BATCH * 1e6,
        receipt_bytes=len(issued[-1].receipt),
    )


def test_receipt_batched_file(benchmark: Any, facts: RunFacts, signer: ReceiptSigner) -> None:
    """Assembling one batched receipt's file (its proof and bytes), when someone asks for it."""
    from vyr.receipts import batched

    issued: list[Any] = []
    with ReceiptBatcher(signer, issued.extend, max_receipts=BATCH) as batcher:
        for _ in range(BATCH * 64):  # a log of 16,384 receipts: proofs of 14 hashes
            batcher.add(statement_bytes(facts))
    last = issued[-1]

    def assemble() -> bytes:
        proof = last.batch.proof(last.log_index)
        return batched.encode(
            last.payload, last.log_index, last.batch.tree_size, proof, last.checkpoint
        )

    benchmark.group = "receipts"
    receipt = benchmark.pedantic(assemble, rounds=ROUNDS, warmup_rounds=100)
    assert receipt == last.receipt
    benchmark.extra_info.update(
        key="receipt_batched_file",
        versus="receipt_warm_task",
        label="one batched receipt's file: proof + encoding, on request",
        receipt_bytes=len(receipt),
    )


def test_receipt_signature_alone(benchmark: Any, facts: RunFacts, signer: ReceiptSigner) -> None:
    """The ed25519 signature alone, over the statement's PAE: what batching amortises."""
    from vyr.receipts import INTOTO_PAYLOAD_TYPE, pae

    message = pae(INTOTO_PAYLOAD_TYPE, statement_bytes(facts))
    benchmark.group = "receipts"
    benchmark.pedantic(signer.sign, args=(message,), rounds=ROUNDS, warmup_rounds=100)
    benchmark.extra_info.update(
        key="receipt_signature_alone",
        versus="receipt_warm_task",
        label="ed25519 sign(PAE(statement)) alone",
        message_bytes=len(message),
    )
