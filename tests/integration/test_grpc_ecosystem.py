"""gRPC as the ecosystem expects it (issue 11): server reflection, standard error details, one
status for every refused token, a bearer token sent over plain text too, per-call deadlines and
a retry policy for idempotent reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from google.rpc import error_details_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status
from vyr import errors
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.client import Client
from vyr.server.interceptors import ControlInterceptor

from harness.daemon import Daemon, start_daemon
from harness.grpc_server import serve_in_thread

TOKEN = "ecosystem-test-token-0123456789"


# -- reflection -------------------------------------------------------------------------------


def test_reflection_lists_and_describes_the_control_api(daemon: Daemon) -> None:
    with grpc.insecure_channel(daemon.endpoint) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"vyr.api.v0.Control", "grpc.health.v1.Health"} <= services, services
        control = DescriptorPool(database).FindServiceByName("vyr.api.v0.Control")
        submit = control.FindMethodByName("SubmitTask")
        assert submit.input_type.full_name == "vyr.api.v0.SubmitTaskRequest"
        assert "idempotency_key" in submit.input_type.fields_by_name
        put = control.FindMethodByName("PutArtifact")
        assert put.client_streaming and not put.server_streaming
        listing = control.FindMethodByName("ListTasks").input_type.fields_by_name
        assert {"page_size", "page_token"} <= set(listing)
        assert {m.name for m in control.methods} >= {"PutInput", "WaitTask", "TrustList"}


# -- error details ----------------------------------------------------------------------------


def _details(call: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, str | None]:
    status = rpc_status.from_call(call)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    info, hint = error_details_pb2.ErrorInfo(), None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            localized = error_details_pb2.LocalizedMessage()
            detail.Unpack(localized)
            hint = localized.message
    return info, hint


def test_a_daemon_error_carries_error_info_and_its_hint(daemon: Daemon) -> None:
    with grpc.insecure_channel(daemon.endpoint) as channel:
        stub = pb_grpc.ControlStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.SubmitTask(pb.SubmitTaskRequest(artifact_digest="sha256:" + "0" * 64), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    info, hint = _details(raised.value)
    assert (info.reason, info.domain) == ("ArtifactNotFound", "vyr.dev")
    assert hint == errors.ArtifactNotFound.hint
    assert "hint:" not in raised.value.details()  # type: ignore[attr-defined]


# -- tokens -----------------------------------------------------------------------------------


@pytest.fixture
def token_daemon(tmp_path: Path, daemons: list[Daemon]) -> tuple[Daemon, Path]:
    """A daemon on plain-text TCP (--insecure) that requires a bearer token."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    started = start_daemon(
        tmp_path / "home",
        "--listen", "tcp://127.0.0.1:0", "--insecure", "--token-file", str(token_file),
    )  # fmt: skip
    daemons.append(started)
    return started, token_file


def test_the_token_is_enforced_and_said_so(token_daemon: tuple[Daemon, Path]) -> None:
    daemon, _ = token_daemon
    assert daemon.endpoint.startswith("http://127.0.0.1:")
    assert "no authentication" not in daemon.stderr, daemon.stderr
    assert "bearer token is required" in daemon.stderr, daemon.stderr


def test_a_missing_or_wrong_token_is_unauthenticated(token_daemon: tuple[Daemon, Path]) -> None:
    daemon, _ = token_daemon
    target = daemon.endpoint.removeprefix("http://")
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ControlStub(channel)
        for metadata in [(), (("authorization", "Bearer not-the-token"),)]:
            with pytest.raises(grpc.RpcError) as raised:
                stub.ListStates(pb.ListStatesRequest(), metadata=metadata, timeout=10)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            info, hint = _details(raised.value)
            assert info.reason == "AuthenticationFailed" and hint and "VYR_TOKEN_FILE" in hint


def test_the_token_file_is_sent_over_plain_text(
    token_daemon: tuple[Daemon, Path], tmp_path: Path
) -> None:
    daemon, token_file = token_daemon
    with Client(daemon.endpoint, token_file=token_file) as client:
        assert client.list_states() == []
        assert client.list_tasks() == []
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token-at-all")
    for credentials in ({}, {"token_file": wrong}):
        with Client(daemon.endpoint, **credentials) as anonymous:  # type: ignore[arg-type]
            with pytest.raises(errors.AuthenticationFailed) as refused:
                anonymous.list_states()
        assert refused.value.grpc_status == "UNAUTHENTICATED"


# -- deadlines and retries (the daemon's interceptor in front of a servicer of the test's) ----


class Recording(pb_grpc.ControlServicer):
    """Records each call's remaining time; ListTasks and CancelTask fail with UNAVAILABLE the
    first `failures` times; GetTask of "slow" never answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {}
        self.remaining: list[tuple[str, float | None]] = []
        self.release = threading.Event()

    def _seen(self, name: str, context: grpc.aio.ServicerContext) -> int:
        self.attempts[name] = self.attempts.get(name, 0) + 1
        self.remaining.append((name, context.time_remaining()))
        return self.attempts[name]

    async def ListTasks(self, request, context):  # type: ignore[no-untyped-def]
        if self._seen("ListTasks", context) <= self.failures:
            raise errors.ShuttingDown("briefly unavailable")
        return pb.ListTasksResponse()

    async def CancelTask(self, request, context):  # type: ignore[no-untyped-def]
        if self._seen("CancelTask", context) <= self.failures:
            raise errors.ShuttingDown("briefly unavailable")
        return pb.CancelTaskResponse(cancelled=True)

    async def GetTask(self, request, context):  # type: ignore[no-untyped-def]
        self._seen("GetTask", context)
        while request.task_id == "slow" and not self.release.is_set():
            await asyncio.sleep(0.01)
        return pb.Task(id=request.task_id, status="succeeded")

    async def WaitTask(self, request, context):  # type: ignore[no-untyped-def]
        self._seen(f"WaitTask({request.timeout_ms} ms)", context)
        return pb.Task(id=request.task_id, status="succeeded")

    async def SubmitTask(self, request, context):  # type: ignore[no-untyped-def]
        self._seen("SubmitTask(wait)" if request.wait else "SubmitTask", context)
        task = pb.Task(id="t-1", status="succeeded") if request.wait else None
        return pb.SubmitTaskResponse(task_id="t-1", task=task)


def _serving(tmp_path: Path, servicer: Recording) -> Iterator[str]:
    return serve_in_thread(
        tmp_path / "control.sock",
        lambda server: pb_grpc.add_ControlServicer_to_server(servicer, server),
        interceptors=[ControlInterceptor()],
    )


def test_idempotent_reads_are_retried_on_unavailable(tmp_path: Path) -> None:
    servicer = Recording(failures=2)
    with _serving(tmp_path, servicer) as endpoint, Client(endpoint) as client:
        assert client.list_tasks() == []
        assert servicer.attempts["ListTasks"] == 3
        # CancelTask changes the node: one attempt, and the caller hears why it failed.
        with pytest.raises(errors.ShuttingDown):
            client.cancel_task("t-1")
        assert servicer.attempts["CancelTask"] == 1


def test_calls_get_a_default_deadline_but_waits_and_streams_do_not(tmp_path: Path) -> None:
    servicer = Recording(failures=0)
    with _serving(tmp_path, servicer) as endpoint, Client(endpoint, call_timeout=30) as client:
        client.task("t-1")
        client.wait_task("t-1")
        client.run("sha256:" + "0" * 64)
        client.submit_task("sha256:" + "0" * 64)
        client.wait_task("t-1", timeout=100)
    remaining = dict(servicer.remaining)
    assert len(remaining) == len(servicer.remaining) == 5, servicer.remaining
    # (+1 s: the grpc-timeout header rounds up, and the clocks of two threads differ.)
    for bounded in ("GetTask", "SubmitTask"):
        left = remaining[bounded]
        assert left is not None and 0 < left <= 30 + 1, remaining
    # WaitTask with a timeout: the timeout plus room for the daemon's WaitTimeout to arrive.
    left = remaining["WaitTask(100000 ms)"]
    assert left is not None and 100 < left <= 130 + 1, remaining
    assert remaining["WaitTask(0 ms)"] is None and remaining["SubmitTask(wait)"] is None


def test_a_call_past_its_deadline_says_so(tmp_path: Path) -> None:
    servicer = Recording(failures=0)
    with _serving(tmp_path, servicer) as endpoint:
        try:
            with Client(endpoint, call_timeout=0.2) as client:
                with pytest.raises(errors.WaitTimeout) as late:
                    client.task("slow")
        finally:
            servicer.release.set()
    assert "did not answer within 0.2 s" in str(late.value), late.value
    assert late.value.hint and "call_timeout" in late.value.hint


def test_call_timeout_is_checked() -> None:
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(errors.InvalidArgument):
            Client("unix:/nonexistent.sock", call_timeout=bad)
