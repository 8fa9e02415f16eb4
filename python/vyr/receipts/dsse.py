"""DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse) v1.

A signature covers PAE(payloadType, payload), never the payload alone, so a signature made
for one payload type cannot pass for another:

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

with LEN the ASCII decimal byte length (type as UTF-8). The JSON envelope is
`{"payload": b64, "payloadType": str, "signatures": [{"keyid": str, "sig": b64}]}`; base64 may
be standard or URL-safe (verifiers must accept both). Stricter than the protocol asks, and on
purpose: unknown fields and non-canonical base64 are refused, so that no byte of an envelope
can change without the envelope being refused.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vyr.errors import InvalidSignature, ReceiptInvalid, UntrustedSigner
from vyr.receipts import _json
from vyr.receipts.signing import ReceiptSigner, TrustedKeys

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_STANDARD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: the bytes a signature covers."""
    encoded_type = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(encoded_type), encoded_type, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    """One signature of an envelope; `keyid` is an unauthenticated hint."""

    keyid: str | None
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A decoded envelope."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]


def seal(payload_type: str, payload: bytes, signer: ReceiptSigner) -> dict[str, Any]:
    """A JSON-ready envelope of `payload`, signed by `signer` (keyid: its VYR key id)."""
    signature = signer.sign(pae(payload_type, payload))
    return {
        "payload": b64encode(payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": signer.key_id, "sig": b64encode(signature)}],
    }


def parse(value: Any, what: str = "the envelope") -> Envelope:
    """An envelope from its decoded JSON, every field checked."""
    if not isinstance(value, Mapping):
        raise ReceiptInvalid(f"{what} is not a JSON object")
    _json.only_fields(value, {"payload", "payloadType", "signatures"}, what)
    payload_type = value.get("payloadType")
    if not isinstance(payload_type, str):
        raise ReceiptInvalid(f"{what} has no payloadType")
    payload = b64decode(value.get("payload"), f"{what}'s payload")
    signatures = value.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise ReceiptInvalid(f"{what} has no signatures")
    parsed = []
    for index, signature in enumerate(signatures):
        where = f"{what}'s signature #{index + 1}"
        if not isinstance(signature, Mapping):
            raise ReceiptInvalid(f"{where} is not a JSON object")
        _json.only_fields(signature, {"keyid", "sig"}, where)
        keyid = signature.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise ReceiptInvalid(f"{where} has a keyid that is not text")
        parsed.append(Signature(keyid or None, b64decode(signature.get("sig"), where)))
    return Envelope(payload_type, payload, tuple(parsed))


def open_envelope(envelope: Envelope, trusted: TrustedKeys, expected_type: str) -> str:
    """Checks the envelope (DSSE's order: signature first, then the payload type) and returns
    the key id of the trusted key whose signature verified; `InvalidSignature` when none
    does, `UntrustedSigner` when every signature names a key that is not trusted."""
    message = pae(envelope.payload_type, envelope.payload)
    named_untrusted = []
    for signature in envelope.signatures:
        candidates = trusted.candidates(signature.keyid)
        if not candidates and signature.keyid is not None:
            named_untrusted.append(signature.keyid)
        for key_id, key in candidates:
            if _verifies(key, signature.sig, message):
                if envelope.payload_type != expected_type:
                    raise ReceiptInvalid(
                        f"payload type {envelope.payload_type!r}, expected {expected_type!r}"
                    )
                return key_id
    trusted_list = ", ".join(trusted.key_ids)
    if len(named_untrusted) == len(envelope.signatures):
        error = UntrustedSigner(
            f"signed by {', '.join(named_untrusted)}, which is not among the trusted keys "
            f"({trusted_list})"
        )
        error.hint = "give the signing node's public key with --key NODE.pub"
        raise error
    raise InvalidSignature(
        f"no signature verifies with the trusted keys ({trusted_list}) over the payload and "
        "its type: the envelope was altered, or signed by another key"
    )


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: Any, what: str) -> bytes:
    """Standard or URL-safe base64, padded or not, in its one canonical spelling: unused
    trailing bits must be zero, so no other text decodes to the same bytes."""
    if not isinstance(text, str):
        raise ReceiptInvalid(f"{what} is not base64 text")
    if _STANDARD.fullmatch(text):
        alphabet = b"+/"
    elif _URL_SAFE.fullmatch(text):
        alphabet = b"-_"
    else:
        raise ReceiptInvalid(f"{what} is not base64")
    bare = text.rstrip("=")
    try:
        data = base64.b64decode(bare + "=" * (-len(bare) % 4), altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise ReceiptInvalid(f"{what} is not base64 (bad length or padding)") from None
    canonical = base64.b64encode(data, altchars=alphabet).decode("ascii")
    if text not in (canonical, canonical.rstrip("=")):
        raise ReceiptInvalid(f"{what} is not canonical base64")
    return data


def _verifies(key: Any, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature as Mismatch

    try:
        key.verify(signature, message)
    except Mismatch:
        return False
    return True
