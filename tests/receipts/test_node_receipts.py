"""Receipts issued by an embedded node: one per outcome, verified by VYR and independently
(DSSE's PAE + `cryptography`, written here), every byte flip refused."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from vyr.errors import TaskNotEnded, VyrError
from vyr.receipts import verify
from vyr.types import Resources

LONG = ["--count", "2000000000"]


def independent_verify(receipt: bytes, public_pem: str) -> dict[str, Any]:
    """DSSE v1 verification without VYR: PAE, then ed25519 over it."""
    envelope = json.loads(receipt)
    kind = envelope["payloadType"].encode()
    body = base64.b64decode(envelope["payload"])
    message = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
    key = load_pem_public_key(public_pem.encode())
    key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), message)  # type: ignore[union-attr]
    assert kind == b"application/vnd.in-toto+json"
    statement: dict[str, Any] = json.loads(body)
    return statement


def ended_tasks(node: Any, put_guest: Any) -> dict[str, Any]:
    hello, anomaly = put_guest("hello"), put_guest("anomaly")
    results = {
        "succeeded": node.run(hello, b"hi", env={"MODE": "x"}, deterministic=True),
        "failed": node.run(hello, b"hi", args=["3"]),
        "trapped": node.run(hello, b"x", resources=Resources(memory_bytes=65536)),
        "deadline_exceeded": node.run(anomaly, args=LONG, resources=Resources(timeout_s=0.05)),
    }
    task = node.submit_task(anomaly, args=LONG)
    while task.status == "queued":
        pass
    node.cancel_task(task.id)
    results["cancelled"] = task.wait(timeout=10)
    return results


def test_a_receipt_for_every_outcome_verifies_with_the_node_key(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    identity = node.node_key()
    key_file = Path(node.home) / "node.key"
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert identity.key_id not in {key_id for key_id, _ in node.trust_list()}
    for status, result in ended_tasks(node, put_guest).items():
        assert result.status == status
        receipt = node.task_receipt(result.id)
        assert receipt == node.task_receipt(result.id)  # deterministic: same bytes each time
        verified = verify(receipt, [identity.public_key], subjects={"stdout": result.stdout})
        predicate = verified.predicate
        assert verified.signer == identity.key_id == predicate["node"]["keyId"]
        assert predicate["taskId"] == result.id
        assert predicate["outcome"]["status"] == status
        assert predicate["artifact"]["digest"] == result.artifact
        manifest = node.artifact_parts(result.artifact)[1]
        assert predicate["artifact"]["manifestDigest"] == (
            "sha256:" + hashlib.sha256(manifest).hexdigest()
        )
        assert predicate["input"]["digest"] == result.input_digest
        assert predicate["args"] == result.args and predicate["env"] == result.env
        assert predicate["node"]["wasmtimeVersion"] == "48.0.8"
        assert predicate["usage"]["wallNs"] == result.usage.wall_ns
        assert predicate["deterministic"] is (status == "succeeded")
        statement = independent_verify(receipt, identity.public_key)
        assert statement == verified.statement
        subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
        assert subjects["stdout"] == hashlib.sha256(result.stdout).hexdigest()


def test_no_receipt_before_the_end(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    task = node.submit_task(put_guest("anomaly"), args=LONG)
    with pytest.raises(TaskNotEnded):
        node.task_receipt(task.id)
    node.cancel_task(task.id)
    task.wait(timeout=10)


def test_every_byte_flip_of_a_node_receipt_is_refused(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    receipt = node.task_receipt(node.run(put_guest("hello"), b"flip").id)
    public = node.node_key().public_key
    original = verify(receipt, [public]).statement
    accepted = 0
    for index in range(len(receipt)):
        altered = bytearray(receipt)
        altered[index] ^= 0x01
        try:
            verify(bytes(altered), [public])
            accepted += 1
        except VyrError:
            pass
        try:
            # DSSE lets a plain verifier ignore the key id hint: what it must never do is
            # return a statement other than the one the node signed.
            forged = independent_verify(bytes(altered), public) != original
        except (CryptoInvalidSignature, ValueError, KeyError, TypeError, AssertionError):
            forged = False
        assert not forged
    assert accepted == 0


def test_task_spans_carry_provenance(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    node.telemetry(True)
    result = node.run(put_guest("hello"), b"spans")
    node.telemetry().flush()
    roots = [
        span
        for span in node.stream_traces(task_ids=[result.id], follow=False)
        if getattr(span, "name", "") == "vyr.submit"
    ]
    attributes = roots[0].attributes
    assert attributes["artifact.hash"] == result.artifact.removeprefix("sha256:")
    assert attributes["vyr.artifact.digest"] == result.artifact
    assert attributes["vyr.input.digest"] == result.input_digest
    assert attributes["vyr.artifact.signer"] == node.list_artifacts()[0].signer
    assert attributes["vyr.artifact.verification"] in ("verified", "cached")
