"""The batched receipt: a statement, its inclusion proof, and the signed checkpoint it leads to.

    {"payloadType": "application/vnd.in-toto+json",
     "payload": "<base64 statement>",
     "inclusionProof": {"logIndex": I, "treeSize": N, "hashes": ["<base64>", ...]},
     "checkpoint": <DSSE envelope of the checkpoint body>}

The log's entry for a statement is its sha256 (32 raw bytes), so the leaf hash is
SHA-256(0x00 || SHA-256(payload)). The proof must lead from that leaf to the checkpoint's
root, and its tree size must be the checkpoint's. Everything else that makes the receipt
trustworthy is the checkpoint's signature.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vyr.errors import ReceiptInvalid
from vyr.receipts import _json, dsse

_FIELDS = {"payloadType", "payload", "inclusionProof", "checkpoint"}
_PROOF_FIELDS = {"logIndex", "treeSize", "hashes"}


@dataclass(frozen=True)
class BatchedReceipt:
    """A decoded batched receipt (nothing verified yet)."""

    payload_type: str
    payload: bytes
    log_index: int
    tree_size: int
    hashes: tuple[bytes, ...]
    checkpoint: dsse.Envelope


def statement_leaf(payload: bytes) -> bytes:
    """The leaf hash of a statement in the receipt log."""
    return hashlib.sha256(b"\x00" + hashlib.sha256(payload).digest()).digest()  # leaf_hash


def encode(
    payload: bytes, log_index: int, tree_size: int, proof: Sequence[bytes], checkpoint: bytes
) -> bytes:
    """The receipt file's bytes (ending in a newline); `checkpoint` is the checkpoint envelope
    as `_json.dumps` gives it (one serialisation per batch, not per receipt).

    The bytes are what `_json.dumps` gives for the whole receipt object (sorted keys, no
    spaces), assembled from parts: base64 text needs no JSON escaping.
    """
    hashes = b",".join(b'"' + binascii.b2a_base64(h, newline=False) + b'"' for h in proof)
    return b"".join(
        (
            b'{"checkpoint":',
            checkpoint,
            b',"inclusionProof":{"hashes":[',
            hashes,
            b'],"logIndex":%d,"treeSize":%d},"payload":"' % (log_index, tree_size),
            binascii.b2a_base64(payload, newline=False),
            b'","payloadType":"' + dsse.INTOTO_PAYLOAD_TYPE.encode() + b'"}\n',
        )
    )


def parse(value: Mapping[str, Any]) -> BatchedReceipt:
    """A batched receipt from its decoded JSON, every field checked."""
    _json.only_fields(value, _FIELDS, "the receipt")
    payload_type = value.get("payloadType")
    if not isinstance(payload_type, str):
        raise ReceiptInvalid("the receipt has no payloadType")
    payload = dsse.b64decode(value.get("payload"), "the receipt's payload")
    proof = value.get("inclusionProof")
    if not isinstance(proof, Mapping):
        raise ReceiptInvalid("the receipt's inclusionProof is not a JSON object")
    _json.only_fields(proof, _PROOF_FIELDS, "the inclusion proof")
    index, size = _count(proof, "logIndex"), _count(proof, "treeSize")
    hashes = proof.get("hashes")
    if not isinstance(hashes, list):
        raise ReceiptInvalid("the inclusion proof has no hashes list")
    decoded = tuple(dsse.b64decode(h, "an inclusion proof hash") for h in hashes)
    checkpoint = dsse.parse(value.get("checkpoint"), "the checkpoint")
    return BatchedReceipt(payload_type, payload, index, size, decoded, checkpoint)


def _count(proof: Mapping[str, Any], name: str) -> int:
    number = proof.get(name)
    # bool is an int in Python: `true` is no index.
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**64:
        raise ReceiptInvalid(f"the inclusion proof's {name} is not a whole number")
    return number
