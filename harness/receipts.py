"""Receipt facts for tests and benchmarks: one typical run, as a node would state it."""

from __future__ import annotations

import hashlib

from vyr.receipts import ArtifactFacts, BindingFacts, NodeFacts, RunFacts

STDOUT = b"HELLO, RECEIPTS\n"
STDERR = b""
START_NS = 1_767_225_600_000_000_123  # 2026-01-01T00:00:00.000000123Z


def sha256(data: bytes) -> str:
    """`sha256:` + hex, as VYR spells digests."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def typical_facts(node_key_id: str) -> RunFacts:
    """What a node would state after `hello` ran with state `cache` bound rw."""
    return RunFacts(
        task_id="t-0001",
        artifact=ArtifactFacts(
            digest=sha256(b"module bytes"),
            manifest_digest=sha256(b"manifest bytes"),
            signer=sha256(b"author key"),
            name="hello",
        ),
        node=NodeFacts(
            key_id=node_key_id,
            vyr_version="0.1.0",
            wasmtime_version="30.0.2",
            engine_fingerprint="cranelift-0123abcd",
        ),
        input_digest=sha256(b"hello, receipts\n"),
        stdout_digest=sha256(STDOUT),
        stderr_digest=sha256(STDERR),
        status="succeeded",
        exit_code=0,
        trap_code=None,
        started_ns=START_NS,
        ended_ns=START_NS + 61_000,
        args=("hello", "--upper"),
        env={"LANG": "C", "MODE": "fast"},
        bindings=(
            BindingFacts("cache", "rw", "/state/cache", "1" * 64, "2" * 64),
            BindingFacts("lookup", "ro", "/state/lookup", "3" * 64, "3" * 64),
        ),
        resources={"memory_bytes": 64 << 20, "timeout_ms": 30_000, "fuel": None},
        phases_ns={
            "queued": START_NS - 9_000,
            "artifact_ready": START_NS - 6_000,
            "scheduled": START_NS - 5_000,
            "instantiated": START_NS - 1_000,
            "started": START_NS,
            "ended": START_NS + 61_000,
        },
        deterministic=True,
    )


def doc_snippet(name: str) -> str:
    """The code block under `<!-- doc-test: NAME -->` in docs/receipts.md: the tests run what
    the page tells an outsider to run, so the page cannot drift from the format."""
    from harness import REPO

    text = (REPO / "docs" / "receipts.md").read_text()
    after = text.split(f"<!-- doc-test: {name} -->\n", 1)[1]
    fence, _, rest = after.partition("\n")
    assert fence.startswith("```"), f"no code block under doc-test {name}"
    return rest.split("\n```\n", 1)[0] + "\n"
