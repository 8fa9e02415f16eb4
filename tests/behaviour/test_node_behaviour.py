"""The behaviour both nodes share: each test runs on `vyr.Runtime` and on `vyr.Client` + daemon
(see conftest.py) with the same assertions, errors included (the same `vyr.errors` classes)."""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from vyr import Artifact, Resources, State, StateBinding, TaskResult
from vyr.errors import (
    ArtifactNotFound,
    DigestMismatch,
    InvalidDigest,
    InvalidResources,
    InvalidSignature,
    InvalidState,
    StateFreed,
    StateNotFound,
    TaskAlreadyStarted,
    TaskNotFound,
    UntrustedSigner,
    WaitTimeout,
)

FOREVER = ["--count", "2000000000", "--window", "4096"]  # minutes of CPU: only a cancel ends it
PHASES = {"queued", "artifact_ready", "instantiated", "started", "ended"}
USAGE = {"wall_ns", "peak_memory_bytes", "fuel_used", "compiled", "cold"}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _wait_status(task: Any, leaving: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while task.status == leaving:
        assert time.monotonic() < deadline, f"{task.id} stayed {leaving}"
        time.sleep(0.005)


def _signed_copy(guests: Path, key: Path, tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    from vyr.keys import sign_module

    module = tmp_path / f"copy-{name}.wasm"
    shutil.copy(guests / f"{name}.wasm", module)
    manifest, signature = sign_module(module, key)
    return module, manifest, signature


# -- artifacts ------------------------------------------------------------------------------
def test_put_is_verified_idempotent_and_listed(node, put_guest, key: Path) -> None:
    digest = put_guest("hello")
    assert put_guest("hello") == digest
    (artifact,) = node.list_artifacts()
    assert isinstance(artifact, Artifact)
    assert (artifact.digest, artifact.name) == (digest, "hello")
    assert artifact.manifest["module"] == {"digest": digest, "size": artifact.size}
    assert [key_id for key_id, _ in node.trust_list()] == [artifact.signer]


def test_tampered_or_untrusted_modules_raise_the_same_errors(
    node, guests: Path, key: Path, tmp_path: Path
) -> None:
    from vyr.keys import generate_key, read_signature

    module, manifest, signature_path = _signed_copy(guests, key, tmp_path, "hello")
    body, manifest_bytes, signature = (
        module.read_bytes(),
        manifest.read_bytes(),
        read_signature(signature_path),
    )
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(DigestMismatch):
        node.put_artifact(_digest(tampered), manifest_bytes, signature, tampered)
    bad_signature = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(InvalidSignature):
        node.put_artifact(_digest(body), manifest_bytes, bad_signature, body)
    with pytest.raises(InvalidDigest):
        node.put_artifact("sha256:nope", manifest_bytes, signature, body)
    stranger, _ = generate_key(tmp_path / "stranger.key")
    module, _, _ = _signed_copy(guests, stranger, tmp_path, "anomaly")
    with pytest.raises(UntrustedSigner) as caught:
        node.put_module_file(module)
    assert caught.value.hint and "trust" in caught.value.hint
    assert node.list_artifacts() == []


# -- tasks ----------------------------------------------------------------------------------
def test_run_round_trip(node, put_guest) -> None:
    digest = put_guest("hello")
    result = node.run(digest, b"vyr")
    assert isinstance(result, TaskResult)
    assert (result.status, result.exit_code, result.trap_code) == ("succeeded", 0, None)
    assert (result.stdout, result.stderr, result.reason) == (
        b"VYR",
        b"hello: 3 bytes\n",
        "exited with code 0",
    )
    assert result.ok and result.done and result.artifact == digest
    assert PHASES <= set(result.phases)  # the core may record more phases (e.g. scheduled)
    phases = result.phases
    assert (
        0
        < phases["queued"]
        <= phases["artifact_ready"]
        <= phases["instantiated"]
        <= phases["started"]
        <= phases["ended"]
    )
    assert USAGE <= set(result.usage) and result.usage["peak_memory_bytes"] > 0
    assert result.granted == {"memory_bytes": 64 << 20, "timeout_ms": 30_000, "fuel": None}
    assert result.bindings == []


def test_submit_then_wait_by_handle_by_id_and_list(node, put_guest) -> None:
    digest = put_guest("hello")
    task = node.submit_task(digest, b"abc", args=["0"], env={"LANG": "C"})
    assert task.id.startswith("t-")
    first = task.wait(timeout=30)
    assert first.stdout == b"ABC"
    assert node.wait_task(task.id, timeout=30) == first
    assert node.task(task.id).result() == first
    assert task.result() == first and task.status == "succeeded"
    (listed,) = node.list_tasks()
    # Listings carry status and outcome but not output (read it from the task).
    assert listed == TaskResult(**{**first.__dict__, "stdout": b"", "stderr": b""})


def test_exit_code_is_failed_with_the_code(node, put_guest) -> None:
    result = node.run(put_guest("hello"), b"x", args=["7"])
    assert (result.status, result.exit_code, result.reason) == ("failed", 7, "exited with code 7")
    assert result.stdout == b"X" and not result.ok


def test_input_above_the_inline_size(node, put_guest) -> None:
    data = bytes(range(256)) * (9 << 12)  # 9 MiB: a client uploads it in chunks first
    result = node.run(put_guest("hello"), data)
    assert result.ok
    assert result.stdout == data.upper()


def test_limits_end_tasks_with_the_same_statuses(node, put_guest) -> None:
    deadline = node.run(put_guest("anomaly"), args=FOREVER, resources=Resources(timeout_s=0.05))
    assert (deadline.status, deadline.exit_code) == ("deadline_exceeded", None)
    assert "deadline" in deadline.reason and deadline.granted["timeout_ms"] == 50
    memory = node.run(put_guest("hello"), b"x", resources=Resources(memory_bytes=65536))
    assert (memory.status, memory.trap_code) == ("trapped", "memory_limit_exceeded")


def test_errors_are_the_same_classes(node, put_guest) -> None:
    digest = put_guest("hello")
    with pytest.raises(ArtifactNotFound) as caught:
        node.submit_task("sha256:" + "0" * 64)
    assert caught.value.hint == ArtifactNotFound.hint
    with pytest.raises(InvalidDigest):
        node.submit_task("nope")
    with pytest.raises(TaskNotFound, match="^unknown task t-nope$"):
        node.task("t-nope")
    with pytest.raises(TaskNotFound):
        node.wait_task("t-nope", timeout=1)
    with pytest.raises(TaskNotFound):
        node.cancel_task("t-nope")
    with pytest.raises(InvalidResources) as resources:
        node.submit_task(digest, resources=Resources(memory_bytes=1 << 40))
    assert isinstance(resources.value, ValueError) and "ceiling" in str(resources.value)
    with pytest.raises(StateNotFound) as missing:
        node.submit_task(digest, state_bindings=["ghost:ro"])
    assert missing.value.hint == StateNotFound.hint
    with pytest.raises(InvalidState):
        node.submit_task(digest, state_bindings=["ghost"])
    assert node.list_tasks() == []  # nothing refused was accepted


def test_wait_timeout(node, put_guest) -> None:
    task = node.submit_task(put_guest("anomaly"), args=FOREVER)
    with pytest.raises(WaitTimeout) as caught:
        task.wait(timeout=0.05)
    assert isinstance(caught.value, TimeoutError)
    with pytest.raises(WaitTimeout):
        node.wait_task(task.id, timeout=0.05)
    task.cancel()
    assert task.wait(timeout=10).status == "cancelled"


def test_cancel_a_running_task(node, put_guest) -> None:
    task = node.submit_task(put_guest("anomaly"), args=FOREVER)
    _wait_status(task, "queued")
    assert task.status == "running"
    assert node.cancel_task(task.id) is True
    result = task.wait(timeout=10)
    assert (result.status, result.reason, result.exit_code) == (
        "cancelled",
        "cancelled while running",
        None,
    )
    assert node.cancel_task(task.id) is False


# -- state ----------------------------------------------------------------------------------
def test_create_and_list_states(node) -> None:
    state = node.create_state("box")
    assert isinstance(state, State)
    assert (state.name, state.cls, state.bound_tasks, state.bytes) == ("box", "ephemeral", 0, 0)
    assert state.id.startswith("st-")
    assert node.list_states() == [state]
    with pytest.raises(InvalidState):
        node.create_state("box")  # one name, one state
    with pytest.raises(InvalidState):
        node.create_state("bad name!")
    with pytest.raises(InvalidState):
        node.create_state("durable", "durable")


def test_writer_then_reader_share_a_state(node, put_guest) -> None:
    state = node.create_state("shared")
    digest = put_guest("state-file")
    # Submitted back to back: the reader waits for the writer submitted before it.
    writer = node.submit_task(
        digest, b"v1", state_bindings=["shared:rw"], args=["put", "shared", "k"]
    )
    reader = node.submit_task(
        digest, state_bindings=[StateBinding(state.id, "ro")], args=["get", "shared", "k"]
    )
    written = writer.wait(30)
    assert written.ok, written.stderr
    assert written.bindings == [(state.id, "shared", "rw")]
    read = reader.wait(30)
    assert (read.status, read.stdout) == ("succeeded", b"v1")
    assert read.bindings == [(state.id, "shared", "ro")]
    assert node.list_states()[0].bytes == 2


def test_a_binding_names_where_the_guest_sees_the_state(node, put_guest) -> None:
    """A state bound at another guest path is the same state: written at /state/other, read
    back at its default /state/NAME; the binding reports the path the guest saw (issue 10)."""
    state = node.create_state("moved")
    digest = put_guest("state-file")
    written = node.run(
        digest, b"v2", state_bindings=["moved:rw@/state/other"], args=["put", "other", "k"]
    )
    assert written.ok, written.stderr
    assert [b.path for b in written.bindings] == ["/state/other"]
    read = node.run(
        digest, state_bindings=[StateBinding(state.id, "ro")], args=["get", "moved", "k"]
    )
    assert (read.status, read.stdout) == ("succeeded", b"v2")
    assert [b.path for b in read.bindings] == ["/state/moved"]
    # Where no state is mounted the guest finds nothing: the old default path is gone.
    missing = node.run(digest, state_bindings=["moved:ro@/state/other"], args=["get", "moved", "k"])
    assert missing.status == "failed"


@pytest.mark.parametrize(
    ("bindings", "problem"),
    [
        (["a:ro@/data", "b:ro@/data/in"], "overlaps"),
        (["a:ro@/", "b:ro@/data"], "overlaps"),
        (["a:ro@/data", "b:rw@/data/"], "overlaps"),
        (["a:ro@data"], "absolute"),
        (["a:ro@/data/../x"], ".."),
    ],
)
def test_bindings_at_bad_or_overlapping_paths_are_refused_before_queueing(
    node, put_guest, bindings, problem
) -> None:
    node.create_state("a")
    node.create_state("b")
    digest = put_guest("state-file")
    with pytest.raises(InvalidState, match=re.escape(problem)):
        node.submit_task(digest, state_bindings=bindings, args=["get", "a", "k"])
    assert node.list_tasks() == []


def test_a_result_says_what_the_guest_was_started_with(node, put_guest) -> None:
    """argv (argv[0] the artifact's name), env after the task's overrides, and whether the run
    was deterministic (virtual clocks and random; the core's tests check the values)."""
    digest = put_guest("hello")
    normal = node.run(digest, b"x", args=["0"], env={"LANG": "C"})
    assert (normal.args, normal.env.get("LANG"), normal.deterministic) == (
        ["hello", "0"],
        "C",
        False,
    )
    fixed = node.run(digest, b"x", deterministic=True)
    assert fixed.ok and fixed.deterministic and fixed.stdout == b"X"


def test_read_only_binding_cannot_write(node, put_guest) -> None:
    node.create_state("box")
    digest = put_guest("state-file")
    assert node.run(digest, b"original", state_bindings=["box:rw"], args=["put", "box", "a"]).ok
    denied = node.run(digest, b"changed", state_bindings=["box:ro"], args=["put", "box", "a"])
    assert (denied.status, denied.exit_code) == ("failed", 74)
    assert (
        node.run(digest, state_bindings=["box:ro"], args=["get", "box", "a"]).stdout == b"original"
    )


def test_bind_state_to_a_queued_task(node, put_guest) -> None:
    node.create_state("gate")
    node.create_state("data")
    files = put_guest("state-file")
    assert node.run(files, b"bound later", state_bindings=["data:rw"], args=["put", "data", "f"]).ok
    # A running writer on `gate` holds every later task bound to it in the queue (and its
    # binding of `data` keeps that state alive, whatever the linger).
    blocker = node.submit_task(
        put_guest("anomaly"), args=FOREVER, state_bindings=["gate:rw", "data:ro"]
    )
    _wait_status(blocker, "queued")
    reader = node.submit_task(files, state_bindings=["gate:ro"], args=["get", "data", "f"])
    assert reader.status == "queued"
    node.bind_state(reader.id, "data", "ro")
    with pytest.raises(InvalidState, match='mode "xx": expected "ro" or "rw"'):
        node.bind_state(reader.id, "data", "xx")
    with pytest.raises(StateNotFound):
        node.bind_state(reader.id, "ghost", "ro")
    with pytest.raises(TaskNotFound):
        node.bind_state("t-nope", "data", "ro")
    blocker.cancel()
    result = reader.wait(30)
    assert (result.status, result.stdout) == ("succeeded", b"bound later")
    assert [(name, mode) for _, name, mode in result.bindings] == [("gate", "ro"), ("data", "ro")]
    with pytest.raises(TaskAlreadyStarted):
        node.bind_state(reader.id, "data", "ro")


def test_cancel_a_queued_task(node, put_guest) -> None:
    node.create_state("gate")
    blocker = node.submit_task(put_guest("anomaly"), args=FOREVER, state_bindings=["gate:rw"])
    queued = node.submit_task(put_guest("hello"), b"x", state_bindings=["gate:ro"])
    queued.cancel()
    result = queued.wait(10)
    assert (result.status, result.reason, result.stdout) == (
        "cancelled",
        "cancelled before it started",
        b"",
    )
    assert result.phases["started"] == 0
    assert node.cancel_task(blocker.id) is True


def test_a_freed_state_is_refused(node, put_guest) -> None:
    state = node.create_state("brief")
    deadline = time.monotonic() + 10
    while node.list_states() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.list_states() == []
    with pytest.raises(StateFreed):
        node.submit_task(put_guest("hello"), state_bindings=[StateBinding(state.id, "ro")])
    with pytest.raises(StateNotFound):
        node.submit_task(put_guest("hello"), state_bindings=["brief:ro"])


# -- trust ----------------------------------------------------------------------------------
def test_trust_add_list_remove(node, put_guest, key: Path, tmp_path: Path) -> None:
    from vyr.errors import InvalidKey
    from vyr.keys import generate_key

    _, public = generate_key(tmp_path / "second.key")
    second = node.trust_add(public.read_text())
    assert second.startswith("sha256:")
    assert node.trust_add(public.read_text()) == second
    assert second in dict(node.trust_list())
    node.trust_remove(second)
    assert second not in dict(node.trust_list())
    with pytest.raises(InvalidKey):
        node.trust_add("not a key")
    with pytest.raises(InvalidDigest):
        node.trust_remove("nokey")
