"""Bad values sent to a real daemon (issue 13 items 4 and 9): each is refused with the status
the API documents and a message naming what is wrong, never INTERNAL or UNKNOWN, and the daemon
logs no traceback for a caller's mistake. Also `ListTasks` paging, and `--listen` values."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from vyr import client as client_module
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.client import Client
from vyr.errors import InputTooLarge

from harness.daemon import Daemon, DaemonFailed, start_daemon
from harness.guests import Signed

GARBAGE = b"\xff\xff\xff\xff"  # a field tag with no end: never a valid message
U64_MAX = 2**64 - 1
MAX_TIMEOUT_MS = 86_400_000  # the node's default ceiling (vyr.Runtime.limits())
LIMIT_BYTES = 64 << 20  # the node's default max_artifact_bytes and max_input_bytes
UNARY_METHODS = [
    method.name
    for method in pb.DESCRIPTOR.services_by_name["Control"].methods
    if not method.client_streaming and not method.server_streaming
]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, signed: Signed
) -> Iterator[tuple[Daemon, Any, str]]:
    """One daemon for the module, a raw stub to it, and the digest of `hello` stored there."""
    daemon = start_daemon(tmp_path_factory.mktemp("bad-values") / "home")
    try:
        with Client(daemon.endpoint) as client:
            client.trust_add(signed.public_key)
            digest = client.put_module_file(signed.module("hello")).digest
        with grpc.insecure_channel(daemon.endpoint) as channel:
            yield daemon, channel, digest
    finally:
        daemon.kill()


def _status(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        call()
    except grpc.RpcError as error:
        return error.code(), error.details() or ""  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def _tracebacks(daemon: Daemon) -> int:
    return daemon.stderr.count("Traceback")


# -- values out of range ------------------------------------------------------------------------


@pytest.mark.parametrize("timeout_ms", [U64_MAX, MAX_TIMEOUT_MS + 1, 0])
def test_a_task_timeout_out_of_range_names_the_field_and_range(
    served: tuple[Daemon, Any, str], timeout_ms: int
) -> None:
    daemon, channel, digest = served
    before = _tracebacks(daemon)
    request = pb.SubmitTaskRequest(
        artifact_digest=digest, resources=pb.Resources(timeout_ms=timeout_ms)
    )
    stub = pb_grpc.ControlStub(channel)
    code, details = _status(lambda: stub.SubmitTask(request, timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert "timeout" in details and f"1..={MAX_TIMEOUT_MS}" in details, details
    assert _tracebacks(daemon) == before


def test_huge_memory_and_fuel_are_refused_or_granted_never_internal(
    served: tuple[Daemon, Any, str],
) -> None:
    _, channel, digest = served
    stub = pb_grpc.ControlStub(channel)
    memory = pb.SubmitTaskRequest(
        artifact_digest=digest, resources=pb.Resources(memory_bytes=U64_MAX)
    )
    code, details = _status(lambda: stub.SubmitTask(memory, timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "memory" in details, (code, details)
    fuel = pb.SubmitTaskRequest(
        artifact_digest=digest, resources=pb.Resources(fuel=U64_MAX), wait=True
    )
    code, details = _status(lambda: stub.SubmitTask(fuel, timeout=30))
    assert code == grpc.StatusCode.OK, (code, details)


def test_a_huge_wait_timeout_is_a_wait(served: tuple[Daemon, Any, str]) -> None:
    _, channel, digest = served
    stub = pb_grpc.ControlStub(channel)
    task_id = stub.SubmitTask(pb.SubmitTaskRequest(artifact_digest=digest), timeout=10).task_id
    task = stub.WaitTask(pb.WaitTaskRequest(task_id=task_id, timeout_ms=U64_MAX), timeout=30)
    assert task.status == "succeeded"


# -- bytes that are not the message -------------------------------------------------------------


@pytest.mark.parametrize("method", UNARY_METHODS)
def test_a_malformed_request_is_invalid_argument(
    served: tuple[Daemon, Any, str], method: str
) -> None:
    daemon, channel, _ = served
    before = _tracebacks(daemon)
    raw = channel.unary_unary(f"/vyr.api.v0.Control/{method}")
    code, details = _status(lambda: raw(GARBAGE, timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details.startswith(f"{method}: the request is not a valid vyr.api.v0."), details
    assert _tracebacks(daemon) == before, daemon.stderr[-2000:]


@pytest.mark.parametrize("method", ["PutArtifact", "PutInput"])
@pytest.mark.parametrize("position", ["first", "after a valid message"])
def test_a_malformed_upload_message_is_invalid_argument(
    served: tuple[Daemon, Any, str], method: str, position: str
) -> None:
    daemon, channel, digest = served
    before = _tracebacks(daemon)
    valid = (
        pb.PutArtifactRequest(header=pb.ArtifactHeader(digest=digest, size=10))
        if method == "PutArtifact"
        else pb.PutInputRequest(chunk=b"0123456789")
    ).SerializeToString()
    messages = [GARBAGE] if position == "first" else [valid, GARBAGE]
    raw = channel.stream_unary(f"/vyr.api.v0.Control/{method}")
    code, details = _status(lambda: raw(iter(messages), timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert f"{method}: the request is not a valid" in details, details
    assert _tracebacks(daemon) == before, daemon.stderr[-2000:]


@pytest.mark.parametrize(
    ("messages", "said"),
    [
        ([pb.PutArtifactRequest(chunk=b"abc")], "first message must carry the header"),
        (
            [
                pb.PutArtifactRequest(header=pb.ArtifactHeader()),
                pb.PutArtifactRequest(header=pb.ArtifactHeader()),
            ],
            "header must be sent once",
        ),
        ([], "no header was sent"),
        (
            [
                pb.PutArtifactRequest(
                    header=pb.ArtifactHeader(digest="sha256:" + "0" * 64, size=5)
                ),
                pb.PutArtifactRequest(chunk=b"abc"),
            ],
            "announced 5 bytes, the chunks held 3",
        ),
    ],
    ids=["chunk before the header", "two headers", "no message", "size mismatch"],
)
def test_a_misshapen_put_artifact_stream_is_invalid_argument(
    served: tuple[Daemon, Any, str], messages: list[Any], said: str
) -> None:
    _, channel, _ = served
    stub = pb_grpc.ControlStub(channel)
    code, details = _status(lambda: stub.PutArtifact(iter(messages), timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details.startswith("PutArtifact: ") and said in details, details


def test_put_input_with_two_digests_is_invalid_argument(served: tuple[Daemon, Any, str]) -> None:
    _, channel, _ = served
    stub = pb_grpc.ControlStub(channel)
    messages = [
        pb.PutInputRequest(digest="sha256:" + "1" * 64, chunk=b"a"),
        pb.PutInputRequest(digest="sha256:" + "2" * 64, chunk=b"b"),
    ]
    code, details = _status(lambda: stub.PutInput(iter(messages), timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "two digests" in details, details


# -- size limits: one status for both uploads ---------------------------------------------------


def test_uploads_over_the_limit_are_both_resource_exhausted(
    served: tuple[Daemon, Any, str],
) -> None:
    daemon, channel, _ = served
    stub = pb_grpc.ControlStub(channel)
    chunk = b"\0" * (1 << 20)
    too_many = LIMIT_BYTES // len(chunk) + 1
    code, details = _status(
        lambda: stub.PutInput(
            (pb.PutInputRequest(chunk=chunk) for _ in range(too_many)), timeout=60
        )
    )
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and str(LIMIT_BYTES) in details, details
    header = pb.ArtifactHeader(digest="sha256:" + "0" * 64, size=LIMIT_BYTES + 1)
    code, details = _status(
        lambda: stub.PutArtifact(iter([pb.PutArtifactRequest(header=header)]), timeout=10)
    )
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and str(LIMIT_BYTES) in details, details
    with Client(daemon.endpoint) as client, pytest.raises(InputTooLarge):
        client.put_input(b"\0" * (LIMIT_BYTES + 1))


# -- ListTasks paging ---------------------------------------------------------------------------


def test_list_tasks_pages_through_every_task(
    served: tuple[Daemon, Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, channel, digest = served
    stub = pb_grpc.ControlStub(channel)
    for _ in range(7):
        stub.SubmitTask(pb.SubmitTaskRequest(artifact_digest=digest), timeout=10)
    everything = [t.id for t in stub.ListTasks(pb.ListTasksRequest(), timeout=10).tasks]
    assert len(everything) >= 7

    pages: list[list[str]] = []
    request = pb.ListTasksRequest(page_size=3)
    while True:
        response = stub.ListTasks(request, timeout=10)
        pages.append([t.id for t in response.tasks])
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    assert [len(page) for page in pages[:-1]] == [3] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= 3
    assert [task for page in pages for task in page] == everything  # oldest first, none twice

    huge = stub.ListTasks(pb.ListTasksRequest(page_size=2**32 - 1), timeout=10)
    assert len(huge.tasks) == len(everything) and not huge.next_page_token

    code, details = _status(
        lambda: stub.ListTasks(pb.ListTasksRequest(page_token="not-a-token"), timeout=10)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in details, details

    # vyr.Client fetches every page (here of 2 tasks each).
    monkeypatch.setattr(client_module, "LIST_PAGE_SIZE", 2)
    with Client(daemon.endpoint) as client:
        assert [task.id for task in client.list_tasks()] == everything


# -- listen addresses ---------------------------------------------------------------------------


def test_listen_on_an_impossible_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DaemonFailed) as refused:
        start_daemon(tmp_path / "home", "--listen", "tcp://127.0.0.1:99999", "--insecure")
    stderr = refused.value.stderr
    assert "daemon exited with 2" in str(refused.value), refused.value  # a usage error
    assert "error: " in stderr and "port 99999 is outside 0..65535" in stderr, stderr
    assert "Traceback" not in stderr and "listening on" not in stderr, stderr


def test_listen_on_a_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DaemonFailed) as refused:
            start_daemon(tmp_path / "home", "--listen", f"tcp://127.0.0.1:{port}", "--insecure")
    stderr = refused.value.stderr
    assert f"cannot listen on tcp://127.0.0.1:{port}" in stderr, stderr
    assert "Traceback" not in stderr, stderr
