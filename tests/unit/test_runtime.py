"""The embedded `vyr.Runtime`: artifacts, tasks, limits and state, on the reference guests."""

from __future__ import annotations

from pathlib import Path

import pytest
from vyr import Resources, StateBinding
from vyr.errors import (
    ArtifactNotFound,
    DigestMismatch,
    InvalidDigest,
    InvalidResources,
    InvalidSignature,
    StateFreed,
    StateNotFound,
    TaskAlreadyStarted,
    UntrustedSigner,
    VyrError,
)


def test_hello_round_trip(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    digest = put_guest("hello")
    result = node.run(digest, b"vyr")
    assert result.ok
    assert result.stdout == b"VYR"
    assert result.stderr == b"hello: 3 bytes\n"
    assert result.exit_code == 0
    phases = result.phases
    assert (
        0
        < phases["queued"]
        <= phases["artifact_ready"]
        <= phases["scheduled"]
        <= phases["instantiated"]
    )
    assert phases["instantiated"] <= phases["started"] <= phases["ended"]
    assert result.usage["peak_memory_bytes"] > 0


def test_guest_exit_code_is_failed_with_code(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    result = node.run(put_guest("hello"), b"", args=["7"])
    assert (result.status, result.exit_code, result.reason) == ("failed", 7, "exited with code 7")


def test_put_is_idempotent_and_listed(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    first = put_guest("hello")
    assert put_guest("hello") == first
    assert [a.digest for a in node.list_artifacts()] == [first]


def test_tampered_module_is_refused_before_compiling(
    node, guests: Path, key: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from vyr.keys import read_signature, sign_module

    module = tmp_path / "t.wasm"
    module.write_bytes((guests / "hello.wasm").read_bytes())
    manifest_path, signature_path = sign_module(module, key)
    data = bytearray(module.read_bytes())
    data[-1] ^= 1
    with pytest.raises(DigestMismatch):
        node.put_artifact(
            _digest(bytes(data)),
            manifest_path.read_bytes(),
            read_signature(signature_path),
            bytes(data),
        )
    signature = bytearray(read_signature(signature_path))
    signature[0] ^= 1
    with pytest.raises(InvalidSignature):
        node.put_artifact(
            _digest(module.read_bytes()),
            manifest_path.read_bytes(),
            bytes(signature),
            module.read_bytes(),
        )
    with pytest.raises(InvalidDigest):
        node.put_artifact(
            "sha256:nope", manifest_path.read_bytes(), bytes(signature), module.read_bytes()
        )
    assert node.list_artifacts() == []


def test_untrusted_signer_is_refused(node, guests: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vyr.keys import generate_key, sign_module

    stranger, _ = generate_key(tmp_path / "stranger.key")
    module = tmp_path / "s.wasm"
    module.write_bytes((guests / "hello.wasm").read_bytes())
    sign_module(module, stranger)
    with pytest.raises(UntrustedSigner) as caught:
        node.put_module_file(module)
    assert caught.value.grpc_status == "PERMISSION_DENIED"
    assert caught.value.hint


def test_unknown_artifact_and_bad_resources(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArtifactNotFound):
        node.submit_task("sha256:" + "0" * 64)
    with pytest.raises(InvalidResources):
        node.submit_task(put_guest("hello"), resources=Resources(memory_bytes=1 << 40))
    assert issubclass(InvalidResources, ValueError)


def test_deadline_stops_a_cpu_bound_guest(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    result = node.run(
        put_guest("anomaly"), args=["--count", "2000000000"], resources=Resources(timeout_s=0.05)
    )
    assert result.status == "deadline_exceeded"
    assert "deadline" in result.reason


def test_memory_cap_traps_instead_of_running(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    result = node.run(put_guest("hello"), b"x", resources=Resources(memory_bytes=65536))
    assert result.status == "trapped"
    assert result.trap_code == "memory_limit_exceeded"


def test_cancel_a_running_task(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    task = node.submit_task(put_guest("anomaly"), args=["--count", "2000000000"])
    while task.status == "queued":
        pass
    assert node.cancel_task(task.id)
    assert task.wait(timeout=10).status == "cancelled"
    assert not node.cancel_task(task.id)


def test_the_ended_feed_delivers_each_published_outcome_once(
    tmp_path, key, put_guest, node
) -> None:  # type: ignore[no-untyped-def]
    """What the daemon's journal reads: tasks submitted with `publish_end` come out of
    `next_ended` once each, unpublished ones never, and the feed closes at shutdown."""
    import vyr
    from vyr.types import TaskSpec

    put_guest("hello")  # signs tmp_path/hello.wasm
    with vyr.Runtime(tmp_path / "feed", end_consumer=False) as feed_node:
        feed_node.trust_add(Path(f"{key}.pub").read_text())
        digest = feed_node.put_module_file(tmp_path / "hello.wasm").digest
        published = [feed_node.submit(TaskSpec(digest, b"x"), publish_end=True) for _ in range(5)]
        quiet = feed_node.submit(TaskSpec(digest, b"y"))
        quiet.wait(10)
        seen: list[str] = []
        while len(seen) < 5:
            outcomes, closed = feed_node.next_ended(256, 10.0)
            assert not closed
            seen += [o.id for o in outcomes]
        assert sorted(seen) == sorted(t.id for t in published)
        assert feed_node.ended_published() == 5
        assert feed_node.next_ended(256, 0.05) == ([], False)
    assert feed_node.next_ended(256, 1.0) == ([], True)


def test_two_cpu_bound_tasks_run_at_the_same_time(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    digest = put_guest("anomaly")
    tasks = [node.submit_task(digest, args=["--count", "3000000"]) for _ in range(2)]
    first, second = (task.wait(60) for task in tasks)
    assert first.ok and second.ok and first.stdout == second.stdout
    # Overlapping execution windows: both cores were used, not one task after the other.
    assert first.phases["started"] < second.phases["ended"]
    assert second.phases["started"] < first.phases["ended"]


def _fill_state(node, put_guest, state: str, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    result = node.run(
        put_guest("state-file"), data, state_bindings=[f"{state}:rw"], args=["put", state, name]
    )
    assert result.ok, result.stderr


def test_read_only_binding_cannot_write(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    node.create_state("box")
    _fill_state(node, put_guest, "box", "a.txt", b"original")
    denied = node.run(
        put_guest("state-file"), b"changed", state_bindings=["box:ro"], args=["put", "box", "a.txt"]
    )
    assert denied.status == "failed" and denied.exit_code == 74
    read = node.run(
        put_guest("state-file"), state_bindings=["box:ro"], args=["get", "box", "a.txt"]
    )
    assert read.stdout == b"original"


def test_writer_then_reader_sees_the_write(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    node.create_state("shared")
    digest = put_guest("state-file")
    # Submitted back to back: the reader must wait for the writer submitted before it.
    writer = node.submit_task(
        digest, b"v1", state_bindings=["shared:rw"], args=["put", "shared", "k"]
    )
    reader = node.submit_task(digest, state_bindings=["shared:ro"], args=["get", "shared", "k"])
    assert writer.wait(10).ok
    assert reader.wait(10).stdout == b"v1"


def test_failed_writer_leaves_state_unchanged(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    node.create_state("atomic")
    _fill_state(node, put_guest, "atomic", "log", b"kept")
    digest = put_guest("collector")
    bad = node.run(
        digest, b"not,a,valid,line,x\n", state_bindings=["atomic:rw"], args=["collect", "atomic"]
    )
    assert bad.status == "failed"
    read = node.run(
        put_guest("state-file"), state_bindings=["atomic:ro"], args=["get", "atomic", "log"]
    )
    assert read.stdout == b"kept"


def test_state_is_freed_after_linger_and_then_refused(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    import time

    state = node.create_state("brief")
    deadline = time.monotonic() + 10
    while node.list_states() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.list_states() == []
    with pytest.raises(StateFreed):
        node.submit_task(put_guest("hello"), state_bindings=[StateBinding(state.id, "ro")])
    with pytest.raises(StateNotFound):
        node.submit_task(put_guest("hello"), state_bindings=["ghost:ro"])


def test_bind_state_after_start_is_refused(node, put_guest) -> None:  # type: ignore[no-untyped-def]
    node.create_state("late")
    result = node.submit_task(put_guest("hello"), b"x").wait(10)
    with pytest.raises(TaskAlreadyStarted):
        node.bind_state(result.id, "late", "ro")


def test_every_error_is_a_vyr_error_with_a_status() -> None:
    import vyr.errors as errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, VyrError)
        assert cls is VyrError or cls.grpc_status != "UNKNOWN", name


def _digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_state_size_cap_discards_an_oversized_write(
    tmp_path: Path, key: Path, guests: Path
) -> None:
    import shutil

    from vyr.keys import sign_module
    from vyr.runtime import Runtime

    with Runtime(tmp_path / "capped", max_state_bytes=1024, state_dir=str(tmp_path / "st")) as node:
        node.trust_add(Path(f"{key}.pub").read_text())
        module = tmp_path / "state-file.wasm"
        shutil.copy(guests / "state-file.wasm", module)
        sign_module(module, key)
        digest = node.put_module_file(module).digest
        node.create_state("small")
        result = node.run(
            digest, b"x" * 4096, state_bindings=["small:rw"], args=["put", "small", "big"]
        )
        assert (result.status, result.trap_code) == ("trapped", "state_limit_exceeded")
        assert "cap" in result.reason
        assert node.list_states()[0].bytes == 0
