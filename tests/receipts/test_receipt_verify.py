"""A receipt signed on its own (DSSE envelope): sign -> verify, every altered byte refused, the
wrong key refused, subjects checked against outputs, and a verification that uses no VYR code."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from vyr import _core
from vyr.errors import (
    InvalidKey,
    InvalidSignature,
    ReceiptInvalid,
    ReceiptMismatch,
    UntrustedSigner,
    VyrError,
)
from vyr.receipts import (
    ReceiptSigner,
    RunFacts,
    TrustedKeys,
    build_statement,
    dsse,
    sign_receipt,
    statement_bytes,
    tree_digest,
    verify,
)

from harness.receipts import STDERR, STDOUT


def test_sign_then_verify_round_trip(
    payload: bytes, signer: ReceiptSigner, public_pem: str
) -> None:
    receipt = sign_receipt(payload, signer)
    verified = verify(receipt, [public_pem])
    assert verified.form == "envelope" and verified.log is None
    assert verified.signer == signer.key_id
    assert verified.statement == json.loads(payload)
    assert verified.statement_digest == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert verified.predicate["taskId"] == "t-0001"


def test_the_keyid_is_vyrs_key_id(signer: ReceiptSigner, public_pem: str, payload: bytes) -> None:
    envelope = json.loads(sign_receipt(payload, signer))
    public_hex = signer.public_key.public_bytes_raw().hex()
    assert envelope["signatures"][0]["keyid"] == _core.key_id(public_hex) == signer.key_id
    from vyr.keys import key_id

    assert key_id(public_pem) == signer.key_id


def test_every_single_bit_flip_anywhere_is_refused(
    payload: bytes, signer: ReceiptSigner, public_pem: str
) -> None:
    receipt = sign_receipt(payload, signer)
    trusted = TrustedKeys.from_texts([public_pem])
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


def test_an_altered_payload_is_refused_with_what_does_not_match(
    facts: RunFacts, signer: ReceiptSigner, public_pem: str
) -> None:
    envelope = json.loads(sign_receipt(statement_bytes(facts), signer))
    statement = build_statement(facts)
    statement["predicate"]["outcome"]["exitCode"] = 1  # claim another outcome, keep the signature
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(InvalidSignature, match="altered, or signed by another key"):
        verify(json.dumps(envelope).encode(), [public_pem])


def test_the_wrong_key_is_refused(payload: bytes, signer: ReceiptSigner, tmp_path: Path) -> None:
    from vyr.keys import generate_key

    _, other = generate_key(tmp_path / "other.key")
    receipt = sign_receipt(payload, signer)
    with pytest.raises(UntrustedSigner, match=f"signed by {signer.key_id}, which is not among"):
        verify(receipt, [other.read_text()])
    # Someone else's key, claiming the trusted key's id: the signature itself fails.
    impostor = ReceiptSigner(Ed25519PrivateKey.generate())
    forged = json.loads(sign_receipt(payload, impostor))
    forged["signatures"][0]["keyid"] = signer.key_id
    with pytest.raises(InvalidSignature):
        verify(json.dumps(forged).encode(), [signer.public_key])
    with pytest.raises(InvalidKey, match="no trusted key"):
        verify(receipt, [])


def test_a_private_key_is_no_trusted_key(
    payload: bytes, signer: ReceiptSigner, node_key: Path
) -> None:
    with pytest.raises(InvalidKey, match="private key"):
        verify(sign_receipt(payload, signer), [node_key.read_text()])


def test_a_signed_statement_of_another_type_is_refused(
    signer: ReceiptSigner, facts: RunFacts
) -> None:
    statement = build_statement(facts)
    statement["predicateType"] = "https://slsa.dev/provenance/v1"
    receipt = sign_receipt(json.dumps(statement).encode(), signer)
    with pytest.raises(ReceiptInvalid, match="predicate type 'https://slsa.dev/provenance/v1'"):
        verify(receipt, [signer.public_key])
    not_json = sign_receipt(b"not json", signer)
    with pytest.raises(ReceiptInvalid, match="statement is not valid JSON"):
        verify(not_json, [signer.public_key])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"[]", "not a JSON object"),
        (b'{"payload": ""}', "neither a DSSE envelope"),
        (b'{"payload":"","payloadType":"x","signatures":[],"extra":1}', "unknown field"),
        (b'{"payload":"","payloadType":"x","signatures":[]}', "no signatures"),
    ],
)
def test_what_is_no_receipt_is_refused(data: bytes, says: str, signer: ReceiptSigner) -> None:
    with pytest.raises(ReceiptInvalid, match=says):
        verify(data, [signer.public_key])


def test_subjects_are_checked_against_outputs_and_states(
    facts: RunFacts, signer: ReceiptSigner, tmp_path: Path
) -> None:
    import dataclasses

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "hits").write_bytes(b"3\n")
    binding = dataclasses.replace(facts.bindings[0], digest_after=tree_digest(cache))
    receipt = sign_receipt(
        statement_bytes(dataclasses.replace(facts, bindings=(binding, facts.bindings[1]))), signer
    )
    stdout_file = tmp_path / "out.txt"
    stdout_file.write_bytes(STDOUT)
    verified = verify(
        receipt,
        [signer.public_key],
        subjects={"stdout": stdout_file, "stderr": STDERR, "state:cache": cache},
    )
    assert verified.checked == ("stdout", "stderr", "state:cache")

    with pytest.raises(
        ReceiptMismatch,
        match=r"stdout: the given 3-byte value hashes to sha256 [0-9a-f]{64}, the receipt says",
    ):
        verify(receipt, [signer.public_key], subjects={"stdout": b"HI\n"})
    (cache / "hits").write_bytes(b"4\n")
    with pytest.raises(
        ReceiptMismatch, match=f"state:cache: directory {cache} hashes to vyrTreeV1"
    ):
        verify(receipt, [signer.public_key], subjects={"state:cache": cache})
    with pytest.raises(
        ReceiptMismatch, match="no subject 'state:lookup'; it names state:cache, stderr, stdout"
    ):
        verify(receipt, [signer.public_key], subjects={"state:lookup": cache})
    with pytest.raises(ReceiptMismatch, match="only as sha256, not vyrTreeV1"):
        verify(receipt, [signer.public_key], subjects={"stdout": cache})


def _independent_pae(payload_type: bytes, body: bytes) -> bytes:
    # Written from DSSE's protocol.md, on purpose not shared with vyr.receipts.dsse.
    return b" ".join(
        [b"DSSEv1", str(len(payload_type)).encode(), payload_type, str(len(body)).encode(), body]
    )


def test_an_independent_verifier_accepts_it(
    payload: bytes, signer: ReceiptSigner, public_pem: str
) -> None:
    """Only json, base64, hashlib and cryptography: what a third party would write."""
    envelope = json.loads(sign_receipt(payload, signer))
    body = base64.b64decode(envelope["payload"], validate=True)
    message = _independent_pae(envelope["payloadType"].encode(), body)
    key = load_pem_public_key(public_pem.encode())
    signature = envelope["signatures"][0]
    assert signature["keyid"] == "sha256:" + hashlib.sha256(key.public_bytes_raw()).hexdigest()  # type: ignore[union-attr]
    key.verify(base64.b64decode(signature["sig"]), message)  # type: ignore[union-attr,call-arg]
    statement = json.loads(body)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://vyr.dev/receipt/v0.1"
    # And VYR accepts an envelope the third party signed with the same key by its own means.
    private = Ed25519PrivateKey.generate()
    theirs = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.urlsafe_b64encode(body).decode().rstrip("="),
        "signatures": [
            {
                "sig": base64.b64encode(
                    private.sign(_independent_pae(b"application/vnd.in-toto+json", body))
                ).decode()
            }
        ],
    }
    assert (
        verify(json.dumps(theirs, indent=2).encode(), [private.public_key()]).statement == statement
    )
    assert dsse.pae("application/vnd.in-toto+json", body) == _independent_pae(
        b"application/vnd.in-toto+json", body
    )
