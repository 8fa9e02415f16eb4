"""Batched receipts: RFC 9162 trees (Certificate Transparency's reference vectors), proofs that
survive many checkpoints, the N-receipts and T-ms triggers, and receipts that verify against
their signed checkpoint, independently of VYR's code too."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from vyr.errors import InvalidSignature, ReceiptInvalid, UntrustedSigner, VyrError
from vyr.receipts import (
    IssuedReceipt,
    ReceiptBatcher,
    ReceiptSigner,
    RunFacts,
    TrustedKeys,
    _json,
    batched,
    merkle,
    statement_bytes,
    verify,
)
from vyr.receipts.compact_tree import CompactTree

# github.com/google/certificate-transparency: the leaves, tree heads and inclusion proofs of
# its Merkle tree tests, also in RFC 6962-bis implementations.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOFS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def _ct_leaf_hashes() -> list[bytes]:
    return [merkle.leaf_hash(bytes.fromhex(leaf)) for leaf in CT_LEAVES]


def test_tree_heads_and_proofs_match_certificate_transparency() -> None:
    leaves = _ct_leaf_hashes()
    assert merkle.root_hash([]).hex() == hashlib.sha256(b"").hexdigest()
    assert [merkle.root_hash(leaves[:n]).hex() for n in range(1, 9)] == CT_ROOTS
    for (index, size), expected in CT_PROOFS.items():
        path = merkle.inclusion_path(index, leaves[:size])
        assert [h.hex() for h in path] == expected
        assert (
            merkle.root_from_inclusion(index, size, leaves[index], path).hex() == CT_ROOTS[size - 1]
        )


def test_every_proof_of_every_tree_up_to_70_leads_to_its_root_and_no_other() -> None:
    for size in range(1, 71):
        leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
        root = merkle.root_hash(leaves)
        for index in range(size):
            path = merkle.inclusion_path(index, leaves)
            assert _leads_to(root, index, size, leaves[index], path)
            if size > 1:  # neither another leaf nor another position reaches the root
                assert not _leads_to(root, index, size, leaves[(index + 1) % size], path)
                assert not _leads_to(root, (index + 1) % size, size, leaves[index], path)
    with pytest.raises(ReceiptInvalid, match="not below tree size"):
        merkle.root_from_inclusion(8, 8, b"\0" * 32, [])
    with pytest.raises(ReceiptInvalid, match="shorter"):
        merkle.root_from_inclusion(0, 8, b"\0" * 32, [b"\0" * 32])


def _leads_to(root: bytes, index: int, size: int, leaf: bytes, path: list[bytes]) -> bool:
    try:
        return merkle.root_from_inclusion(index, size, leaf, path) == root
    except ReceiptInvalid:  # a path of the wrong length for that position
        return False


def test_the_compact_tree_gives_the_full_trees_heads_and_proofs_across_batches() -> None:
    rng = random.Random(12)
    tree, everything = CompactTree(), []
    while len(everything) < 600:
        for _ in range(rng.choice([1, 2, 3, 7, 16, 33, 64])):
            leaf = merkle.leaf_hash(len(everything).to_bytes(4, "big"))
            everything.append(leaf)
            assert tree.append(leaf) == len(everything) - 1
        sealed = tree.seal()
        assert sealed.tree_size == len(everything)
        assert sealed.root_hash == merkle.root_hash(everything)
        for offset, proof in enumerate(sealed.proofs()):
            index = sealed.first_index + offset
            assert proof == sealed.proof(index) == merkle.inclusion_path(index, everything)


def _payloads(count: int) -> list[bytes]:
    return [
        json.dumps({"_type": "https://in-toto.io/Statement/v1", "n": n}).encode()
        for n in range(count)
    ]


def test_a_checkpoint_every_n_receipts(signer: ReceiptSigner, payload: bytes) -> None:
    calls: list[list[IssuedReceipt]] = []
    with ReceiptBatcher(signer, calls.append, max_receipts=4, max_delay_ms=60_000) as batcher:
        for tag in range(10):
            batcher.add(payload, tag=tag)
        assert [len(call) for call in calls] == [4, 4]  # the last 2 wait for 4, or the close
    assert [len(call) for call in calls] == [4, 4, 2]
    issued = [receipt for call in calls for receipt in call]
    assert [r.tag for r in issued] == [r.log_index for r in issued] == list(range(10))
    trusted = TrustedKeys([signer.public_key])
    sizes = []
    for receipt in issued:
        verified = verify(receipt.receipt, trusted)
        assert verified.form == "batched" and verified.signer == signer.key_id
        assert verified.log is not None and verified.log.log_index == receipt.log_index
        assert verified.log.origin == batcher.origin
        sizes.append(verified.log.tree_size)
        assert verified.statement["predicateType"] == "https://vyr.dev/receipt/v0.1"
    assert sizes == [4] * 4 + [8] * 4 + [10] * 2  # one growing log, checkpoint after checkpoint


def test_a_checkpoint_within_t_ms_of_the_first_unsigned_receipt(
    signer: ReceiptSigner, payload: bytes
) -> None:
    arrived = threading.Event()
    calls: list[tuple[float, list[IssuedReceipt]]] = []

    def on_receipts(receipts: list[IssuedReceipt]) -> None:
        calls.append((time.monotonic(), receipts))
        arrived.set()

    batcher = ReceiptBatcher(signer, on_receipts, max_receipts=1000, max_delay_ms=30).start()
    try:
        added = time.monotonic()
        batcher.add(payload, tag="a")
        batcher.add(payload, tag="b")
        assert arrived.wait(5)
        sealed_at, receipts = calls[0]
        assert [r.tag for r in receipts] == ["a", "b"]
        assert sealed_at - added >= 0.03
        assert sealed_at - added < 2  # generous: two busy shared cores
    finally:
        batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.add(payload)


def test_the_batch_encoding_is_the_canonical_json_of_the_receipt(signer: ReceiptSigner) -> None:
    payloads = _payloads(3)
    tree = CompactTree()
    for p in payloads:
        tree.append(batched.statement_leaf(p))
    sealed = tree.seal()
    checkpoint = {
        "payload": "eA==",
        "payloadType": "t",
        "signatures": [{"keyid": "k", "sig": "eQ=="}],
    }
    for index, payload in enumerate(payloads):
        receipt = batched.encode(
            payload, index, sealed.tree_size, sealed.proof(index), _json.dumps(checkpoint)
        )
        value = {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(payloads[index]).decode(),
            "inclusionProof": {
                "logIndex": index,
                "treeSize": 3,
                "hashes": [base64.b64encode(h).decode() for h in sealed.proof(index)],
            },
            "checkpoint": checkpoint,
        }
        assert receipt == _json.dumps(value) + b"\n"


def _batched_receipts(signer: ReceiptSigner, facts: RunFacts, count: int) -> list[IssuedReceipt]:
    """`count` receipts of distinct runs (task ids t-0 ...) under one checkpoint. Distinct
    matters: one statement logged twice is in the log twice, at either index."""
    issued: list[IssuedReceipt] = []
    with ReceiptBatcher(signer, issued.extend, max_receipts=count) as batcher:
        for n in range(count):
            batcher.add(statement_bytes(dataclasses.replace(facts, task_id=f"t-{n}")))
    return issued


def test_every_single_bit_flip_in_a_batched_receipt_is_refused(
    signer: ReceiptSigner, facts: RunFacts
) -> None:
    receipt = _batched_receipts(signer, facts, 5)[3].receipt
    trusted = TrustedKeys([signer.public_key])
    verify(receipt, trusted)
    accepted = []
    for position in range(len(receipt)):
        for bit in range(8):
            altered = bytearray(receipt)
            altered[position] ^= 1 << bit
            try:
                verify(bytes(altered), trusted)
            except VyrError:
                continue
            accepted.append((position, bit))
    assert accepted == []


def test_a_proof_or_statement_from_elsewhere_does_not_verify(
    signer: ReceiptSigner, facts: RunFacts
) -> None:
    first, second = (json.loads(r.receipt) for r in _batched_receipts(signer, facts, 2))
    trusted = TrustedKeys([signer.public_key])
    # Leaf 1's statement with leaf 0's position: the proof leads elsewhere.
    moved = {**second, "inclusionProof": first["inclusionProof"]}
    with pytest.raises(InvalidSignature, match="not in the signed checkpoint"):
        verify(json.dumps(moved).encode(), trusted)
    other = json.loads(_batched_receipts(signer, facts, 1)[0].receipt)
    swapped = {**first, "checkpoint": other["checkpoint"]}  # a checkpoint of another log
    with pytest.raises(ReceiptInvalid, match="tree of 2, the checkpoint signs one of 1"):
        verify(json.dumps(swapped).encode(), trusted)
    stranger = ReceiptSigner(Ed25519PrivateKey.generate())
    with pytest.raises(UntrustedSigner):
        verify(json.dumps(first).encode(), [stranger.public_key])


def _independent_root(index: int, size: int, leaf: bytes, hashes: list[bytes]) -> bytes:
    """RFC 9162 inclusion verification written another way (the inner/border split of
    transparency-dev's merkle package), so it checks vyr.receipts.merkle, not itself."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    assert len(hashes) == inner + border
    node = leaf
    for level, sibling in enumerate(hashes[:inner]):
        pair = node + sibling if (index >> level) & 1 == 0 else sibling + node
        node = hashlib.sha256(b"\x01" + pair).digest()
    for sibling in hashes[inner:]:
        node = hashlib.sha256(b"\x01" + sibling + node).digest()
    return node


def test_an_independent_verifier_accepts_a_batched_receipt(
    signer: ReceiptSigner, facts: RunFacts, public_pem: str
) -> None:
    for issued in _batched_receipts(signer, facts, 7):
        receipt = json.loads(issued.receipt)
        statement = base64.b64decode(receipt["payload"])
        envelope = receipt["checkpoint"]
        body = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        message = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
        key = load_pem_public_key(public_pem.encode())
        key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), message)  # type: ignore[union-attr,call-arg]
        origin, size, root, end = body.decode().split("\n")
        assert origin.startswith("vyr.dev/receipt-log/") and end == ""
        proof = receipt["inclusionProof"]
        assert proof["treeSize"] == int(size) == 7
        leaf = hashlib.sha256(b"\x00" + hashlib.sha256(statement).digest()).digest()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        assert _independent_root(proof["logIndex"], int(size), leaf, hashes) == base64.b64decode(
            root
        )
