"""The in-toto Statement v1 a receipt carries: one task run, predicate `https://vyr.dev/receipt/v0.1`.

Subjects are what the run produced (stdout, stderr, each read-write state after the run); the
predicate is how it was produced. The layout of every field is in docs/receipts.md. The bytes
are deterministic (sorted keys, no spaces, UTF-8), so the same facts always give the same
statement and the same statement digest.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

from vyr.errors import ReceiptInvalid
from vyr.receipts import _json
from vyr.receipts.facts import BindingFacts, RunFacts
from vyr.receipts.tree_digest import ALGORITHM as TREE_ALGORITHM

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://vyr.dev/receipt/v0.1"
STATE_SUBJECT_PREFIX = "state:"


def build_statement(facts: RunFacts) -> dict[str, Any]:
    """The statement for `facts`, as a JSON-ready dict."""
    subject = [
        {"name": "stdout", "digest": _digest_set(facts.stdout_digest)},
        {"name": "stderr", "digest": _digest_set(facts.stderr_digest)},
    ]
    for binding in facts.bindings:
        if binding.mode == "rw" and binding.digest_after is not None:
            subject.append(
                {
                    "name": STATE_SUBJECT_PREFIX + binding.state,
                    "digest": {TREE_ALGORITHM: binding.digest_after},
                }
            )
    node = facts.node
    predicate = {
        "taskId": facts.task_id,
        "artifact": {
            "name": facts.artifact.name,
            "digest": facts.artifact.digest,
            "manifestDigest": facts.artifact.manifest_digest,
            "signer": facts.artifact.signer,
        },
        "input": {"digest": facts.input_digest},
        "args": list(facts.args),
        "env": dict(facts.env),
        "bindings": [_binding(binding) for binding in facts.bindings],
        "resources": {_camel(k): v for k, v in facts.resources.items()},
        "requestedResources": {_camel(k): v for k, v in facts.requested.items()},
        "usage": {_camel(k): v for k, v in facts.usage.items()},
        "outcome": {
            "status": facts.status,
            "exitCode": facts.exit_code,
            "trapCode": facts.trap_code,
            "reason": facts.reason,
        },
        "phases": {_camel(k): v for k, v in facts.phases_ns.items()},
        "node": {
            "keyId": node.key_id,
            "vyrVersion": node.vyr_version,
            "wasmtimeVersion": node.wasmtime_version,
            "engineFingerprint": node.engine_fingerprint,
        },
        "deterministic": facts.deterministic,
        "startedOn": rfc3339(facts.started_ns),
        "finishedOn": rfc3339(facts.ended_ns),
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def encode_statement(statement: Mapping[str, Any]) -> bytes:
    """The statement's bytes: JSON with sorted keys and no spaces, UTF-8."""
    return _json.dumps(statement)


def statement_bytes(facts: RunFacts) -> bytes:
    """`encode_statement(build_statement(facts))`: what gets signed (or logged) per task."""
    return encode_statement(build_statement(facts))


def parse_statement(payload: bytes) -> dict[str, Any]:
    """A receipt's statement from its payload bytes, with its types and subjects checked;
    anything else is `ReceiptInvalid` saying what is wrong."""
    statement = _json.loads_object(payload, "the statement")
    kind = statement.get("_type")
    if kind != STATEMENT_TYPE:
        raise ReceiptInvalid(f"statement type {kind!r}, expected {STATEMENT_TYPE!r}")
    predicate_type = statement.get("predicateType")
    if predicate_type != PREDICATE_TYPE:
        raise ReceiptInvalid(
            f"predicate type {predicate_type!r}: this VYR reads {PREDICATE_TYPE!r} receipts"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise ReceiptInvalid("the statement has no subject list")
    for subject in subjects:
        if not (
            isinstance(subject, dict)
            and isinstance(subject.get("name"), str)
            and isinstance(subject.get("digest"), dict)
            and subject["digest"]
            and all(isinstance(v, str) for v in subject["digest"].values())
        ):
            raise ReceiptInvalid(f"malformed subject {subject!r}: expected a name and a digest set")
    names = [subject["name"] for subject in subjects]
    if len(set(names)) != len(names):
        raise ReceiptInvalid("the statement names a subject twice")
    if not isinstance(statement.get("predicate"), dict):
        raise ReceiptInvalid("the statement has no predicate object")
    return statement


def subject_digests(statement: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """name -> digest set, for each of a parsed statement's subjects."""
    return {subject["name"]: dict(subject["digest"]) for subject in statement["subject"]}


def rfc3339(epoch_ns: int) -> str:
    """Unix epoch nanoseconds as RFC 3339 UTC with nanoseconds: 2025-01-02T03:04:05.000000006Z."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    # time.gmtime, not datetime: a few times cheaper, and this runs once or twice per task.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def _binding(binding: BindingFacts) -> dict[str, Any]:
    def digest(hex_digest: str | None) -> dict[str, str] | None:
        return None if hex_digest is None else {TREE_ALGORITHM: hex_digest}

    return {
        "state": binding.state,
        "mode": binding.mode,
        "guestPath": binding.guest_path,
        "before": digest(binding.digest_before),
        "after": digest(binding.digest_after),
    }


def _digest_set(digest: str) -> dict[str, str]:
    """`sha256:HEX` as an in-toto DigestSet, `{"sha256": HEX}`."""
    algorithm, _, value = digest.partition(":")
    return {algorithm: value}


@functools.cache  # phase and resource names: a handful, converted for every task
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
