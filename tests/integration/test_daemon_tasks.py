"""Put, submit, wait and inspect tasks through a real daemon on a unix socket."""

from __future__ import annotations

import os
import stat
import struct
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from vyr.errors import ArtifactNotFound, IdempotencyConflict, InvalidSignature, TaskNotFound
from vyr.types import Resources, TaskResult

BUSY = [
    "--count",
    "2000000000",
    "--window",
    "4096",
]  # minutes of CPU: a cancel (or the deadline) ends it
HEALTH_BOUND_S = 2.0


def test_socket_is_private(daemon) -> None:
    path = daemon.endpoint.removeprefix("unix:")
    assert daemon.endpoint == f"unix:{daemon.home / 'vyr.sock'}"
    assert stat.S_IMODE((daemon.home / "vyr.sock").stat().st_mode) == 0o600, path


def test_put_submit_wait_round_trip(client, signed) -> None:
    artifact = client.put_module_file(signed.module("hello"))
    assert artifact.name == "hello"
    assert artifact.digest in {a.digest for a in client.list_artifacts()}

    result = client.run(artifact.digest, b"hello daemon")
    assert isinstance(result, TaskResult)
    assert (result.status, result.exit_code, result.stdout) == ("succeeded", 0, b"HELLO DAEMON")
    assert b"12 bytes" in result.stderr

    task = client.submit_task(artifact.digest, b"x", args=["7"])
    ended = task.wait(timeout=30)
    assert (ended.status, ended.exit_code, ended.reason) == ("failed", 7, "exited with code 7")
    assert client.task(task.id).result().stdout == b"X"
    assert task.id in [t.id for t in client.list_tasks()]


def test_large_input_travels_in_chunks(client, signed) -> None:
    digest = client.put_module_file(signed.module("hello")).digest
    data = b"abcdefgh" * (3 << 18)  # 6 MiB: above the inline limit and the 4 MiB message limit
    result = client.run(digest, data)
    assert result.status == "succeeded"
    assert result.stdout == data.upper()


def test_idempotency_key_returns_the_same_task(client, signed) -> None:
    digest = client.put_module_file(signed.module("hello")).digest
    first = client.submit_task(digest, b"once", idempotency_key="job-1")
    second = client.submit_task(digest, b"once", idempotency_key="job-1")
    assert first.id == second.id
    assert second.wait(30).stdout == b"ONCE"
    assert sum(t.id == first.id for t in client.list_tasks()) == 1
    # The same key with another request is refused, not answered with the first task (13.5).
    with pytest.raises(IdempotencyConflict, match="different request"):
        client.submit_task(digest, b"twice", idempotency_key="job-1")


def test_unknown_artifact_is_not_found(client) -> None:
    missing = "sha256:" + "0" * 64
    with pytest.raises(ArtifactNotFound) as caught:
        client.run(missing)
    assert caught.value.hint  # the daemon's hint travels with the error
    with pytest.raises(TaskNotFound):
        client.task("t-nope")
    assert (
        _raw_status(client, "SubmitTask", _pb().SubmitTaskRequest(artifact_digest=missing))
        == grpc.StatusCode.NOT_FOUND
    )


def test_bad_signature_is_permission_denied(client, signed) -> None:
    from vyr.keys import read_signature

    module = signed.module("hello")
    manifest = module.with_name(module.name + ".manifest.json").read_bytes()
    signature = bytearray(read_signature(module.with_name(module.name + ".sig")))
    signature[0] ^= 0xFF
    body = module.read_bytes()
    digest = client.put_module_file(module).digest  # the good one, to learn the digest
    with pytest.raises(InvalidSignature):
        client.put_artifact(digest, manifest, bytes(signature), body)
    pb = _pb()
    header = pb.PutArtifactRequest(
        header=pb.ArtifactHeader(digest=digest, manifest=manifest, signature=bytes(signature))
    )
    code = _raw_status(client, "PutArtifact", iter([header, pb.PutArtifactRequest(chunk=body)]))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_oversized_message_is_resource_exhausted(client, signed) -> None:
    digest = client.put_module_file(signed.module("hello")).digest
    pb = _pb()
    request = pb.SubmitTaskRequest(
        artifact_digest=digest, input_ref=pb.InputRef(inline=b"x" * (5 << 20))
    )
    assert _raw_status(client, "SubmitTask", request) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_health_is_serving(daemon) -> None:
    with grpc.insecure_channel(daemon.endpoint) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "vyr.api.v0.Control"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_answers_while_every_core_runs_guests(daemon, client, signed) -> None:
    """CPU-bound guests on every core must not starve the event loop that answers health."""
    digest = client.put_module_file(signed.module("anomaly")).digest
    cores = os.cpu_count() or 2
    guard = Resources(timeout_s=10)  # a safety net, should the cancels below never come
    busy = [client.submit_task(digest, args=BUSY, resources=guard) for _ in range(cores + 1)]
    try:
        deadline = time.monotonic() + 10
        while sum(client.task(t.id).status == "running" for t in busy) < cores:
            assert time.monotonic() < deadline, [client.task(t.id).status for t in busy]
            time.sleep(0.02)
        with grpc.insecure_channel(daemon.endpoint) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for _ in range(5):
                for service in ("", "vyr.api.v0.Control"):
                    started = time.monotonic()
                    reply = stub.Check(
                        health_pb2.HealthCheckRequest(service=service), timeout=HEALTH_BOUND_S
                    )
                    elapsed = time.monotonic() - started
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING
                    assert elapsed < HEALTH_BOUND_S, f"health took {elapsed:.2f} s"
                time.sleep(0.1)
        # The guests were still running throughout: the checks above competed with them.
        assert sum(client.task(t.id).status == "running" for t in busy) >= cores
    finally:
        for task in busy:
            task.cancel()
    assert {task.wait(30).status for task in busy} <= {"cancelled", "deadline_exceeded"}


def test_run_is_one_call_that_waits(client, signed) -> None:
    """`SubmitTask` with `wait` answers with the ended task; `Client.run` uses it."""
    digest = client.put_module_file(signed.module("hello")).digest
    pb = _pb()
    request = pb.SubmitTaskRequest(
        artifact_digest=digest, input_ref=pb.InputRef(inline=b"one call"), wait=True
    )
    response = client._stub.SubmitTask(request, timeout=30)
    assert response.task.id == response.task_id
    assert (response.task.status, response.task.stdout) == ("succeeded", b"ONE CALL")
    assert response.task.stdout_digest.startswith("sha256:")
    without = client._stub.SubmitTask(pb.SubmitTaskRequest(artifact_digest=digest), timeout=30)
    assert not without.HasField("task")  # without `wait`: the id at once, as before
    keyed = client.run(digest, b"first", idempotency_key="run-1")
    again = client.run(digest, b"first", idempotency_key="run-1")
    assert (keyed.id, keyed.stdout) == (again.id, b"FIRST")
    result = client.run(digest, b"x", args=["3"])
    assert (result.status, result.exit_code, result.stdout) == ("failed", 3, b"X")


def test_two_tasks_share_a_state(client, signed) -> None:
    """collector `collect` writes readings into state `site`; `forward` reads them back."""
    digest = client.put_module_file(signed.module("collector")).digest
    state = client.create_state("site")
    assert state.name == "site" and state.id in {s.id for s in client.list_states()}
    readings = b"1,dev-1,1000,1.5\n2,dev-1,2000,2.5\n1,dev-1,1000,1.5\n"
    writer = client.run(digest, readings, args=["collect", "site"], state_bindings=["site:rw"])
    assert writer.status == "succeeded", writer.stderr
    reader = client.run(digest, b"", args=["forward", "site"], state_bindings=["site:rw"])
    assert reader.status == "succeeded", reader.stderr
    magic, _version, _flags, _header, count = struct.unpack_from("<4sBBHI", reader.stdout)
    assert (magic, count) == (b"VYRB", 2)  # the duplicate id was dropped
    assert b'"forwarded":2' in reader.stderr


def _pb():
    from vyr.api.v0 import control_pb2

    return control_pb2


def _raw_status(client, method: str, request) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(client._stub, method)(request, timeout=30)
    return caught.value.code()
