"""The statement: in-toto Statement v1 with the VYR predicate, built only from checked facts,
the same bytes for the same facts."""

from __future__ import annotations

import dataclasses
import json

import pytest
from vyr.errors import InvalidArgument, ReceiptInvalid
from vyr.receipts import (
    PREDICATE_TYPE,
    BindingFacts,
    RunFacts,
    build_statement,
    replay_plan,
    statement_bytes,
)
from vyr.receipts.statement import parse_statement

from harness.receipts import STDOUT, sha256


def test_statement_has_the_intoto_layout_and_the_vyr_predicate(facts: RunFacts) -> None:
    statement = json.loads(statement_bytes(facts))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE == "https://vyr.dev/receipt/v0.1"
    # stdout and stderr, then each rw state's tree after the run; never a read-only state.
    assert statement["subject"] == [
        {"name": "stdout", "digest": {"sha256": sha256(STDOUT).removeprefix("sha256:")}},
        {"name": "stderr", "digest": {"sha256": facts.stderr_digest.removeprefix("sha256:")}},
        {"name": "state:cache", "digest": {"vyrTreeV1": "2" * 64}},
    ]
    predicate = statement["predicate"]
    assert predicate["artifact"] == {
        "name": "hello",
        "digest": facts.artifact.digest,
        "manifestDigest": facts.artifact.manifest_digest,
        "signer": facts.artifact.signer,
    }
    assert predicate["input"] == {"digest": facts.input_digest}
    assert predicate["args"] == ["hello", "--upper"]
    assert predicate["env"] == {"LANG": "C", "MODE": "fast"}
    assert predicate["bindings"][1] == {
        "state": "lookup",
        "mode": "ro",
        "guestPath": "/state/lookup",
        "before": {"vyrTreeV1": "3" * 64},
        "after": {"vyrTreeV1": "3" * 64},
    }
    assert predicate["resources"] == {"memoryBytes": 64 << 20, "timeoutMs": 30_000, "fuel": None}
    assert predicate["outcome"] == {
        "status": "succeeded",
        "exitCode": 0,
        "trapCode": None,
        "reason": "",
    }
    assert predicate["phases"]["artifactReady"] == facts.phases_ns["artifact_ready"]
    assert predicate["node"] == {
        "keyId": facts.node.key_id,
        "vyrVersion": "0.1.0",
        "wasmtimeVersion": "30.0.2",
        "engineFingerprint": "cranelift-0123abcd",
    }
    assert predicate["deterministic"] is True
    assert predicate["startedOn"] == "2026-01-01T00:00:00.000000123Z"
    assert predicate["finishedOn"] == "2026-01-01T00:00:00.000061123Z"
    assert parse_statement(statement_bytes(facts)) == statement


def test_same_facts_same_bytes_and_any_fact_changes_them(facts: RunFacts) -> None:
    first = statement_bytes(facts)
    assert statement_bytes(dataclasses.replace(facts)) == first
    assert first == json.dumps(json.loads(first), sort_keys=True, separators=(",", ":")).encode()
    assert statement_bytes(dataclasses.replace(facts, exit_code=1)) != first
    assert statement_bytes(dataclasses.replace(facts, env={"LANG": "C"})) != first


def test_an_rw_state_with_an_unknown_end_is_no_subject(facts: RunFacts) -> None:
    unknown = dataclasses.replace(facts, bindings=(BindingFacts("cache", "rw", "/state/cache"),))
    statement = build_statement(unknown)
    assert [s["name"] for s in statement["subject"]] == ["stdout", "stderr"]
    assert statement["predicate"]["bindings"][0]["after"] is None


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"stdout_digest": "sha256:ABC"}, "stdout_digest"),
        ({"status": "running"}, "not a finished task's status"),
        ({"exit_code": True}, "exit_code"),
        ({"ended_ns": 5}, "before started_ns"),
        ({"resources": {"cpus": 2}}, "unknown 'cpus'"),
        ({"env": {"K": 1}}, "env must map text to text"),
        ({"deterministic": "yes"}, "deterministic"),
    ],
)
def test_malformed_facts_are_refused_before_anything_is_signed(
    facts: RunFacts, change: dict[str, object], says: str
) -> None:
    with pytest.raises(InvalidArgument, match=says):
        dataclasses.replace(facts, **change)  # type: ignore[arg-type]


def test_facts_from_a_plain_mapping(facts: RunFacts) -> None:
    plain = dataclasses.asdict(facts)
    assert RunFacts.from_mapping(plain) == facts
    with pytest.raises(InvalidArgument, match="unknown field"):
        RunFacts.from_mapping({**plain, "colour": "blue"})
    with pytest.raises(InvalidArgument, match="mode 'rx'"):
        RunFacts.from_mapping({**plain, "bindings": [{**plain["bindings"][0], "mode": "rx"}]})


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "statement type"),
        (lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"), "predicate type"),
        (lambda s: s.update(subject=[]), "no subject"),
        (lambda s: s["subject"].append(s["subject"][0]), "subject twice"),
        (lambda s: s.update(predicate=[]), "no predicate"),
    ],
)
def test_parse_refuses_other_types_and_malformed_subjects(
    facts: RunFacts, edit: object, says: str
) -> None:
    statement = build_statement(facts)
    edit(statement)  # type: ignore[operator]
    with pytest.raises(ReceiptInvalid, match=says):
        parse_statement(json.dumps(statement).encode())
    with pytest.raises(ReceiptInvalid, match="appears twice"):
        parse_statement(b'{"_type": "a", "_type": "b"}')


def test_replay_plan_says_what_to_run_and_what_it_must_reproduce(facts: RunFacts) -> None:
    plan = replay_plan(build_statement(facts))
    assert plan.artifact_digest == facts.artifact.digest
    assert plan.input_digest == facts.input_digest
    assert plan.args == facts.args and plan.env == dict(facts.env)
    assert plan.resources == {"memory_bytes": 64 << 20, "timeout_ms": 30_000, "fuel": None}
    assert [(b.state, b.mode, b.tree_digest_before) for b in plan.bindings] == [
        ("cache", "rw", "1" * 64),
        ("lookup", "ro", "3" * 64),
    ]
    assert plan.expected["state:cache"] == {"vyrTreeV1": "2" * 64}
    assert plan.deterministic and plan.complete
    with pytest.raises(ReceiptInvalid, match="a replay needs"):
        replay_plan({"predicate": {"artifact": {}}})
