"""Every `vyr.errors` class survives the trip through the daemon: raised in a handler, it reaches
`vyr.Client` as the same class, with the same message and hint (issue 16 item 4), carried by a
standard `google.rpc.Status` (ErrorInfo + LocalizedMessage, issue 11).

The first tests put the daemon's real `ControlInterceptor` in front of a servicer that raises
the class it is asked for (in this process: no class needs a way to be provoked for real); the
last ones drive real failures through a real `vyr daemon`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from vyr import errors
from vyr.api.status import DOMAIN
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.client import Client
from vyr.server.interceptors import ControlInterceptor

from harness import REPO
from harness.grpc_server import serve_in_thread

CLASSES = [getattr(errors, name) for name in errors.__all__]
OWN_HINT = "an instance's own hint"


class Raising(pb_grpc.ControlServicer):
    """GetTask(task_id=CLASS NAME) raises that class; `include_output` gives the instance a
    hint of its own. TrustAdd raises something that is no VyrError."""

    async def GetTask(self, request: pb.GetTaskRequest, context: object) -> pb.Task:
        cls = getattr(errors, request.task_id)
        error = cls(f"{request.task_id} raised in the daemon: détail ünicode")
        if request.include_output:
            error.hint = OWN_HINT
        raise error

    async def TrustAdd(self, request: pb.TrustAddRequest, context: object) -> pb.TrustKey:
        raise KeyError("a bug, not a caller's mistake")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    socket = tmp_path_factory.mktemp("roundtrip") / "control.sock"
    with serve_in_thread(
        socket,
        lambda server: pb_grpc.add_ControlServicer_to_server(Raising(), server),
        interceptors=[ControlInterceptor()],
    ) as served:
        yield served


def test_every_error_class_is_in_the_round_trip() -> None:
    # Classes defined elsewhere used to come back as their base (BlobNotFound as NotFound).
    assert {"BlobNotFound", "ConnectionFailed", "AuthenticationFailed", "InputTooLarge"} <= set(
        errors.__all__
    )
    assert errors.VyrError in CLASSES and len(CLASSES) == len(set(CLASSES))


def test_docs_list_every_class_under_its_status() -> None:
    table = (REPO / "docs" / "api.md").read_text().split("| status | classes |", 1)[1]
    listed: dict[str, str] = {}
    for line in table.split("\n\n", 1)[0].splitlines()[2:]:
        code, classes = (cell.strip() for cell in line.strip("|").split("|"))
        for name in re.findall(r"`(\w+)`", classes):
            listed[name] = code.strip("`")
    assert listed == {cls.__name__: cls.grpc_status for cls in CLASSES}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_class_comes_back_as_itself(endpoint: str, cls: type[errors.VyrError]) -> None:
    with Client(endpoint) as client:
        with pytest.raises(errors.VyrError) as raised:
            client._get(cls.__name__, include_output=False)
        assert type(raised.value) is cls
        assert str(raised.value) == f"{cls.__name__} raised in the daemon: détail ünicode"
        assert raised.value.hint == cls.hint
        assert raised.value.grpc_status == cls.grpc_status

        with pytest.raises(cls) as hinted:
            client._get(cls.__name__, include_output=True)
        assert hinted.value.hint == OWN_HINT


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_the_status_is_a_standard_google_rpc_status(
    endpoint: str, cls: type[errors.VyrError]
) -> None:
    with grpc.insecure_channel(endpoint) as channel:
        stub = pb_grpc.ControlStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetTask(pb.GetTaskRequest(task_id=cls.__name__, include_output=True), timeout=10)
    call = raised.value
    assert call.code().name == cls.grpc_status  # type: ignore[attr-defined]
    status = rpc_status.from_call(call)  # type: ignore[arg-type]
    assert status is not None and status.message == call.details()  # type: ignore[attr-defined]
    info, hint = error_details_pb2.ErrorInfo(), error_details_pb2.LocalizedMessage()
    kinds = [detail.type_url.rpartition("/")[2] for detail in status.details]
    assert kinds == ["google.rpc.ErrorInfo", "google.rpc.LocalizedMessage"]
    status.details[0].Unpack(info)
    status.details[1].Unpack(hint)
    assert (info.reason, info.domain) == (cls.__name__, DOMAIN)
    assert hint.message == OWN_HINT and hint.locale


def test_an_unexpected_exception_is_internal_with_a_logged_incident(
    endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="vyr.server"):
        with Client(endpoint) as client, pytest.raises(errors.InternalError) as raised:
            client.trust_add("whatever")
    message = str(raised.value)
    assert "incident" in message and "KeyError" not in message and "bug" not in message
    incident = message.split("incident ", 1)[1].split(";")[0]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback stays in the daemon's log


# -- real failures through a real daemon ------------------------------------------------------


def test_real_failures_come_back_as_their_class(client: Client, signed, tmp_path: Path) -> None:
    """The classes a daemon raises for real, each provoked the ordinary way."""
    from vyr.keys import generate_key, sign_module
    from vyr.types import Resources

    digest = client.put_module_file(signed.module("hello")).digest
    missing = "sha256:" + "0" * 64
    with pytest.raises(errors.BlobNotFound) as blob:  # a plain NotFound before
        client.run(digest, missing)
    assert blob.value.hint == errors.BlobNotFound.hint
    with pytest.raises(errors.ArtifactNotFound):
        client.run(missing)
    with pytest.raises(errors.TaskNotFound):
        client.task("t-unknown")
    with pytest.raises(errors.StateNotFound):
        client.run(digest, b"", ["no-such-state:ro"])
    with pytest.raises(errors.InvalidDigest):
        client.run("sha256:XYZ")
    with pytest.raises(errors.InvalidResources):
        client.run(digest, b"", resources=Resources(memory_bytes=1 << 40))
    with pytest.raises(errors.InputTooLarge):
        client.put_input(b"\0" * ((64 << 20) + 1))

    stranger, _ = generate_key(tmp_path / "stranger.key")
    module = tmp_path / "other.wasm"
    module.write_bytes(signed.module("hello").read_bytes())
    sign_module(module, stranger)
    with pytest.raises(errors.UntrustedSigner) as untrusted:
        client.put_module_file(module)
    assert untrusted.value.hint
