"""docs/receipts.md tells an outsider how to check a receipt without VYR: run exactly that (the
OpenSSL recipe, the Python verifier) on real receipts of both forms, good and altered."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from vyr.receipts import ReceiptBatcher, ReceiptSigner, RunFacts, sign_receipt, statement_bytes

from harness.receipts import doc_snippet


def _batched(signer: ReceiptSigner, facts: RunFacts, count: int) -> list[bytes]:
    issued: list[bytes] = []
    with ReceiptBatcher(signer, lambda rs: issued.extend(r.receipt for r in rs)) as batcher:
        for n in range(count):
            batcher.add(statement_bytes(dataclasses.replace(facts, task_id=f"t-{n}")))
    return issued


def _documented_verifier() -> object:
    namespace: dict[str, object] = {}
    exec(doc_snippet("python-verify"), namespace)
    return namespace["verify_receipt"]


def test_the_documented_python_verifier_accepts_both_forms(
    tmp_path: Path, signer: ReceiptSigner, facts: RunFacts, node_key: Path
) -> None:
    verify_receipt = _documented_verifier()
    public = f"{node_key}.pub"
    receipts = [sign_receipt(statement_bytes(facts), signer), *_batched(signer, facts, 6)]
    for number, receipt in enumerate(receipts):
        path = tmp_path / f"{number}.receipt.json"
        path.write_bytes(receipt)
        statement = verify_receipt(path, public)  # type: ignore[operator]
        assert statement["predicate"]["taskId"] == ("t-0001" if number == 0 else f"t-{number - 1}")


def test_the_documented_python_verifier_refuses_what_was_altered(
    tmp_path: Path, signer: ReceiptSigner, facts: RunFacts, node_key: Path
) -> None:
    verify_receipt = _documented_verifier()
    receipt = json.loads(_batched(signer, facts, 3)[1])
    other = json.loads(_batched(signer, facts, 3)[2])
    receipt["payload"] = other["payload"]  # another run's statement, this run's proof
    path = tmp_path / "altered.json"
    path.write_text(json.dumps(receipt))
    with pytest.raises(AssertionError, match="not in the signed checkpoint"):
        verify_receipt(path, f"{node_key}.pub")  # type: ignore[operator]
    envelope = json.loads(sign_receipt(statement_bytes(facts), signer))
    envelope["payload"] = base64.b64encode(b'{"_type":"x"}').decode()
    path.write_text(json.dumps(envelope))
    with pytest.raises(InvalidSignature):
        verify_receipt(path, f"{node_key}.pub")  # type: ignore[operator]


def test_the_documented_openssl_recipe(
    tmp_path: Path, signer: ReceiptSigner, facts: RunFacts, node_key: Path
) -> None:
    assert shutil.which("openssl") is not None, "openssl is part of the test environment"
    shutil.copy(f"{node_key}.pub", tmp_path / "node.pub")
    receipt = tmp_path / "task.receipt.json"
    receipt.write_bytes(sign_receipt(statement_bytes(facts), signer))
    script = doc_snippet("openssl")

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout
    altered = json.loads(receipt.read_text())
    altered["payloadType"] = "application/vnd.in-toto+jsoN"
    receipt.write_text(json.dumps(altered))
    done = run()
    assert done.returncode != 0 and "Verified Successfully" not in done.stdout
