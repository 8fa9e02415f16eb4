"""DSSE as the spec defines it: PAE known answers (protocol.md and the project's test vectors,
ed25519 key A = RFC 8032 test 1), both base64 alphabets, and only canonical base64."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from vyr.errors import InvalidSignature, ReceiptInvalid, UntrustedSigner
from vyr.receipts import ReceiptSigner, TrustedKeys, pae
from vyr.receipts.dsse import b64decode, open_envelope, parse, seal

SEED_A = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
STATEMENT = b'{"_type":"https://in-toto.io/Statement/v1"}'
INTOTO = "application/vnd.in-toto+json"


def test_pae_matches_the_protocol_example() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize(
    ("payload_type", "payload", "expected_hex"),
    [
        (
            INTOTO,
            STATEMENT,
            "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e2034"
            "33207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e74"
            "2f7631227d",
        ),
        # LEN counts UTF-8 bytes: 29 for these 28 characters.
        (
            "application/vnd.exämple+json",
            STATEMENT,
            "445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e20"
            "3433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e"
            "742f7631227d",
        ),
        # An empty body still ends in the space after its length.
        (
            INTOTO,
            b"",
            "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020",
        ),
    ],
)
def test_pae_vectors(payload_type: str, payload: bytes, expected_hex: str) -> None:
    assert pae(payload_type, payload).hex() == expected_hex


def test_signature_matches_the_dsse_ed25519_vector() -> None:
    signer = ReceiptSigner(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED_A)))
    envelope = seal(INTOTO, STATEMENT, signer)
    assert envelope["payload"] == "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ=="
    assert envelope["signatures"][0]["sig"] == (
        "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA=="
    )
    trusted = TrustedKeys([signer.public_key])
    assert open_envelope(parse(envelope), trusted, INTOTO) == signer.key_id
    # The same signature with the envelope claiming another type: refused (the type is signed).
    swapped = {**envelope, "payloadType": "application/vnd.example.other+json"}
    with pytest.raises(InvalidSignature):
        open_envelope(parse(swapped), trusted, "application/vnd.example.other+json")
    # Validly signed, but a payload type receipts do not take.
    other = seal("application/vnd.example.other+json", STATEMENT, signer)
    with pytest.raises(ReceiptInvalid, match="payload type"):
        open_envelope(parse(other), trusted, INTOTO)


def test_keyid_narrows_the_keys_tried_and_never_widens_them() -> None:
    signer = ReceiptSigner(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED_A)))
    stranger = ReceiptSigner(Ed25519PrivateKey.generate())
    envelope = seal(INTOTO, STATEMENT, signer)
    with pytest.raises(UntrustedSigner, match=signer.key_id):
        open_envelope(parse(envelope), TrustedKeys([stranger.public_key]), INTOTO)
    anonymous = {**envelope, "signatures": [{"sig": envelope["signatures"][0]["sig"]}]}
    assert open_envelope(
        parse(anonymous), TrustedKeys([stranger.public_key, signer.public_key]), INTOTO
    )
    with pytest.raises(InvalidSignature):
        open_envelope(parse(anonymous), TrustedKeys([stranger.public_key]), INTOTO)


def test_both_base64_alphabets_padded_or_not_but_only_canonical() -> None:
    data = bytes([0xFB, 0xFF, 0xBF, 0x3E, 0x3F])
    assert b64decode("+/+/Pj8=", "x") == data
    assert b64decode("-_-_Pj8=", "x") == data
    assert b64decode("-_-_Pj8", "x") == data
    assert b64decode("", "x") == b""
    for text in ("+/+/Pj9=", "+/+/Pj8==", "+/-_Pj8=", "+/+/P j8=", "+/+/Pj8=\n", "A"):
        with pytest.raises(ReceiptInvalid, match="base64"):
            b64decode(text, "x")
    assert base64.b64decode("+/+/Pj9=") == data  # what a lax decoder would have let through
