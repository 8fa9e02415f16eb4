"""Receipts: signed proof of what ran (docs/receipts.md).

A receipt is an in-toto Statement v1 about one task run (predicate type
`https://vyr.dev/receipt/v0.1`): its subjects are the outputs (stdout, stderr, each
read-write state's tree digest), its predicate how they were made (artifact, input, args,
env, bindings, resources, outcome, timings, node). It is signed either on its own, as a DSSE
envelope (`sign_receipt`), or in a batch under one signed Merkle-tree checkpoint
(`ReceiptBatcher`), and checked with `verify`.

    facts = RunFacts(...)                                  # from the task that ended
    receipt = sign_receipt(statement_bytes(facts), ReceiptSigner.from_key_file("node.key"))
    verify(receipt, [Path("node.key.pub").read_text()], subjects={"stdout": output})
"""

from __future__ import annotations

from vyr.receipts.batcher import IssuedReceipt, ReceiptBatcher
from vyr.receipts.checkpoint import CHECKPOINT_PAYLOAD_TYPE, Checkpoint
from vyr.receipts.decode import DecodedReceipt, decode_receipt
from vyr.receipts.dsse import INTOTO_PAYLOAD_TYPE, pae
from vyr.receipts.facts import ArtifactFacts, BindingFacts, NodeFacts, RunFacts
from vyr.receipts.replay import ReplayBinding, ReplayPlan, replay_plan
from vyr.receipts.sign import sign_receipt
from vyr.receipts.signing import ReceiptSigner, TrustedKeys, key_id_of
from vyr.receipts.statement import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    build_statement,
    encode_statement,
    statement_bytes,
)
from vyr.receipts.tree_digest import tree_digest
from vyr.receipts.verify import LogPosition, Verified, verify

__all__ = [
    "CHECKPOINT_PAYLOAD_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "ArtifactFacts",
    "BindingFacts",
    "Checkpoint",
    "DecodedReceipt",
    "IssuedReceipt",
    "LogPosition",
    "NodeFacts",
    "ReceiptBatcher",
    "ReceiptSigner",
    "ReplayBinding",
    "ReplayPlan",
    "RunFacts",
    "TrustedKeys",
    "Verified",
    "build_statement",
    "decode_receipt",
    "encode_statement",
    "key_id_of",
    "pae",
    "replay_plan",
    "sign_receipt",
    "statement_bytes",
    "tree_digest",
    "verify",
]
