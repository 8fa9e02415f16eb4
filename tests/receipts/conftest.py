"""Fixtures for the receipt tests (helpers in receipt_support.py): a node key pair in key
files, the facts of one typical run, and its statement bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from vyr.receipts import ReceiptSigner, RunFacts, statement_bytes

from harness.receipts import typical_facts


@pytest.fixture()
def node_key(tmp_path: Path) -> Path:
    """The node's private key file (its public key: NODE_KEY.pub), as `vyr keygen` writes it."""
    from vyr.keys import generate_key

    private, _ = generate_key(tmp_path / "keys" / "node.key")
    return private


@pytest.fixture()
def signer(node_key: Path) -> ReceiptSigner:
    return ReceiptSigner.from_key_file(node_key)


@pytest.fixture()
def public_pem(node_key: Path) -> str:
    return Path(f"{node_key}.pub").read_text()


@pytest.fixture()
def facts(signer: ReceiptSigner) -> RunFacts:
    return typical_facts(signer.key_id)


@pytest.fixture()
def payload(facts: RunFacts) -> bytes:
    return statement_bytes(facts)
