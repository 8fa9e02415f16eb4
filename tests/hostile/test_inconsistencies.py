"""Issue 13 item 9: small inconsistencies, one test each.

- PutInput over the limit is INVALID_ARGUMENT but PutArtifact over the limit RESOURCE_EXHAUSTED:
  one status for both (either, documented);
- `--listen tcp://127.0.0.1:99999` starts on a random port instead of refusing the port;
- ListTasks silently stops at 1,000 tasks (no paging);
- a failed certificate verification hints "is 'vyr daemon' running?";
- an externref module is refused with a misleading "gc types" message;
- a gzip bomb bundle takes seconds to refuse (the work must be bounded before decompressing).
(The per-task env keys `A=B` and `""` are in test_bad_values_sdk.py.)
"""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc

from harness.daemon import Daemon, DaemonFailed, start_daemon
from harness.guests import Signed, sign_guests

ITEM_9 = "issue 13 item 9: "
TOKEN = "hostile-suite-token-0123456789"
LIST_CAP = 1000
BOMB_ENTRY_BYTES = 512 << 20  # under bundle.MAX_ENTRY_BYTES: only the expansion counts
BOMB_ENTRIES = 1
BOMB_REFUSAL_S = 1.0


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("inconsistency-guests"), ("hello",))


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, signed: Signed
) -> Iterator[tuple[Daemon, Any, str]]:
    """One daemon for this module, a client to it, and hello's digest there."""
    from vyr.client import Client

    daemon = start_daemon(tmp_path_factory.mktemp("inconsistencies") / "home")
    try:
        with Client(daemon.endpoint) as client:
            client.trust_add(signed.public_key)
            yield daemon, client, client.put_module_file(signed.module("hello")).digest
    finally:
        daemon.kill()


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


def test_uploads_over_the_limit_get_one_status(served: tuple[Daemon, Any, str]) -> None:
    daemon, client, _ = served
    limits = {"input": 64 << 20, "artifact": 64 << 20}  # the node's defaults (vyr.Runtime.limits)
    with grpc.insecure_channel(daemon.endpoint) as channel:
        stub = pb_grpc.ControlStub(channel)
        chunk = b"\0" * (1 << 20)
        input_code = _code(
            lambda: stub.PutInput(
                pb.PutInputRequest(chunk=chunk) for _ in range(limits["input"] // len(chunk) + 1)
            )
        )
        header = pb.ArtifactHeader(digest="sha256:" + "0" * 64, size=limits["artifact"] + 1)
        artifact_code = _code(
            lambda: stub.PutArtifact(iter([pb.PutArtifactRequest(header=header)]))
        )
    assert input_code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert artifact_code == input_code, (input_code, artifact_code)


def test_listen_on_an_impossible_port_is_refused(tmp_path: Path, daemons: list[Daemon]) -> None:
    try:
        daemon = start_daemon(tmp_path / "home", "--listen", "tcp://127.0.0.1:99999", "--insecure")
    except DaemonFailed as failed:
        assert "error: " in failed.stderr and "99999" in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr, failed.stderr
        return
    daemons.append(daemon)
    pytest.fail(f"the daemon started, listening on {daemon.addresses}")


def test_list_tasks_returns_every_task(served: tuple[Daemon, Any, str]) -> None:
    _, client, digest = served
    already = len(client.list_tasks())
    submitted = [client.submit_task(digest, b"t") for _ in range(LIST_CAP + 5 - already)]
    submitted[-1].wait(30)
    listed = {task.id for task in client.list_tasks()}
    assert {task.id for task in submitted} <= listed, f"{len(listed)} listed"


def _self_signed(directory: Path, name: str) -> Path:
    """NAME.pem / NAME.key for 127.0.0.1 (openssl, one call)."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(directory / f"{name}.key"),
            "-out",
            str(directory / f"{name}.pem"),
        ],
        check=True,
        capture_output=True,
    )
    (directory / f"{name}.key").chmod(0o600)
    return directory / f"{name}.pem"


def test_a_certificate_verify_failure_says_so(tmp_path: Path, daemons: list[Daemon]) -> None:
    from vyr.client import Client
    from vyr.errors import VyrError

    server_cert = _self_signed(tmp_path, "server")
    other_ca = _self_signed(tmp_path, "other")
    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    daemon = start_daemon(
        tmp_path / "home",
        "--listen",
        "tcp://127.0.0.1:0",
        "--tls-cert",
        str(server_cert),
        "--tls-key",
        str(tmp_path / "server.key"),
        "--token-file",
        str(token),
    )
    daemons.append(daemon)
    with Client(daemon.endpoint, ca_file=other_ca, token_file=token) as client:
        with pytest.raises(VyrError) as refused:
            client.list_artifacts()
    told = f"{refused.value} {refused.value.hint}".lower()
    assert "running" not in told, told
    assert "certificate" in told, told


def test_an_externref_module_is_refused_naming_reference_types(
    node: Any, hostile_guests: dict[str, Path], sign_copy: Callable[[Path], Path]
) -> None:
    from vyr.errors import InvalidModule

    with pytest.raises(InvalidModule) as refused:
        node.put_module_file(sign_copy(hostile_guests["externref"]))
    message = str(refused.value).lower()
    assert "gc types" not in message, message
    assert "externref" in message or "reference types" in message, message


def _gzip_bomb(path: Path) -> Path:
    """A gzip'd tar whose entries expand to BOMB_ENTRIES x 512 MiB of zeros (half a MiB on disk):
    gzip members concatenated, the zero run compressed once and repeated."""
    zeros = gzip.compress(b"\0" * (64 << 20), compresslevel=9, mtime=0)
    with path.open("wb") as out:
        for index in range(BOMB_ENTRIES):
            info = tarfile.TarInfo(f"artifacts/{index:064x}/module.wasm")
            info.size = BOMB_ENTRY_BYTES
            header = info.tobuf(format=tarfile.PAX_FORMAT)
            out.write(gzip.compress(header, mtime=0))
            whole, rest = divmod(BOMB_ENTRY_BYTES, 64 << 20)
            for _ in range(whole):
                out.write(zeros)
            padding = rest + (-BOMB_ENTRY_BYTES % 512)
            out.write(gzip.compress(b"\0" * padding, mtime=0))
        out.write(gzip.compress(b"\0" * 1024, mtime=0))
    return path


def test_a_gzip_bomb_bundle_is_refused_quickly(tmp_path: Path) -> None:
    from vyr.bundle import read_bundle
    from vyr.errors import InvalidBundle

    bomb = _gzip_bomb(tmp_path / "bomb.bundle")
    started = time.monotonic()
    with pytest.raises(InvalidBundle):
        read_bundle(bomb)
    elapsed = time.monotonic() - started
    assert elapsed <= BOMB_REFUSAL_S, f"refused after {elapsed:.1f} s ({bomb.stat().st_size} bytes)"


def test_a_small_gzip_bundle_is_still_refused_clearly(tmp_path: Path) -> None:
    """The control: a compressed archive without an index is an InvalidBundle, not a crash."""
    from vyr.bundle import read_bundle
    from vyr.errors import InvalidBundle

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("readme")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    path = tmp_path / "small.bundle"
    path.write_bytes(archive.getvalue())
    with pytest.raises(InvalidBundle):
        read_bundle(path)
