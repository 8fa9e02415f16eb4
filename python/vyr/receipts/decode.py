"""Reading a receipt file into its parts, before (or without) trusting any of it.

A receipt file is one JSON object in one of two forms: a DSSE envelope of the statement
(`signatures`), or a batched receipt (`inclusionProof` + `checkpoint`, see batched.py).
`vyr receipt show` stops here; `verify` checks the signature before it parses the statement,
as DSSE's protocol orders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from vyr.errors import ReceiptInvalid
from vyr.receipts import _json, batched, dsse
from vyr.receipts.statement import parse_statement

# Far above any real statement, low enough that a stray file is refused before it is parsed.
MAX_RECEIPT_BYTES = 16 << 20


@dataclass(frozen=True)
class DecodedReceipt:
    """A receipt's parts, unverified: `envelope` is set for the envelope form, `batched` for
    the batched form; `signed` is the envelope whose signature vouches for the receipt (the
    statement's own, or the checkpoint's)."""

    form: Literal["envelope", "batched"]
    payload_type: str
    payload: bytes
    signed: dsse.Envelope
    batched: batched.BatchedReceipt | None = None

    @property
    def key_ids(self) -> list[str]:
        """The key ids the receipt claims to be signed by (unauthenticated hints)."""
        return [signature.keyid for signature in self.signed.signatures if signature.keyid]

    def statement(self) -> dict[str, Any]:
        """The statement, its payload type, statement type, predicate type and subjects
        checked (`ReceiptInvalid` otherwise); its signature is not."""
        if self.payload_type != dsse.INTOTO_PAYLOAD_TYPE:
            raise ReceiptInvalid(
                f"payload type {self.payload_type!r}, expected {dsse.INTOTO_PAYLOAD_TYPE!r}"
            )
        return parse_statement(self.payload)


def decode_receipt(data: bytes) -> DecodedReceipt:
    """The parts of a receipt file; `ReceiptInvalid` naming what is malformed."""
    if len(data) > MAX_RECEIPT_BYTES:
        raise ReceiptInvalid(f"{len(data)} bytes: larger than any receipt ({MAX_RECEIPT_BYTES})")
    value = _json.loads_object(data, "the receipt")
    if "signatures" in value:
        envelope = dsse.parse(value, "the receipt envelope")
        return DecodedReceipt("envelope", envelope.payload_type, envelope.payload, envelope)
    if "inclusionProof" in value or "checkpoint" in value:
        receipt = batched.parse(value)
        return DecodedReceipt(
            "batched", receipt.payload_type, receipt.payload, receipt.checkpoint, receipt
        )
    raise ReceiptInvalid(
        "not a receipt: neither a DSSE envelope (signatures) nor a batched receipt "
        "(inclusionProof, checkpoint)"
    )
