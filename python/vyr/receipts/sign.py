"""One receipt, signed on its own: a DSSE envelope around the statement.

For a single run (`vyr run --receipt`) or a quiet node. A node issuing receipts for every
task uses `ReceiptBatcher` instead: a signature costs about as much as a warm task.
"""

from __future__ import annotations

from vyr.receipts import _json, dsse
from vyr.receipts.signing import ReceiptSigner


def sign_receipt(payload: bytes, signer: ReceiptSigner) -> bytes:
    """The receipt file's bytes (a DSSE envelope, ending in a newline) for a statement's
    bytes (`statement_bytes(facts)`)."""
    return _json.dumps(dsse.seal(dsse.INTOTO_PAYLOAD_TYPE, payload, signer)) + b"\n"
