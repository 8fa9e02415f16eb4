"""`vyr.Client`: the Control API over gRPC, with the methods and result types of `vyr.Runtime`.

    >>> with vyr.Client("unix:/home/me/.local/share/vyr/vyr.sock") as node:  # doctest: +SKIP
    ...     result = node.run("sha256:...", b"input")

Endpoints: `unix:PATH`, `https://HOST:PORT` (TLS), `http://HOST:PORT` (a daemon started with
--insecure). Credentials come from arguments or the environment: `VYR_TOKEN_FILE` (bearer
token), `VYR_CA_FILE` (CA bundle that signed the daemon's certificate), `VYR_CLIENT_CERT` and
`VYR_CLIENT_KEY` (mTLS). Channels, retries and error translation: `vyr.transport`.

Deadlines: every call that answers at once gets `call_timeout` (default 60 s); uploads, streams
and the calls that wait for a task (`run`, `wait_task`) are bounded by the caller instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from vyr import state_content, transport
from vyr.api import convert
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.errors import AuthenticationFailed, ConnectionFailed, InternalError, InvalidArgument
from vyr.telemetry import propagation, wire
from vyr.types import Artifact, Resources, State, StateBinding, TaskResult, TaskSpec

if TYPE_CHECKING:
    from vyr.receipts.node_key import NodeKey
    from vyr.telemetry.hub import Gap
    from vyr.telemetry.metrics import MetricPoint
    from vyr.telemetry.records import SpanRecord

CHUNK_BYTES = 1 << 20
INLINE_INPUT_BYTES = 1 << 20
DEFAULT_CALL_TIMEOUT_S = 60.0
LIST_PAGE_SIZE = 1000
_UNBOUNDED = None  # the deadline of calls bounded by their caller (uploads, streams, waits)
_CALL_TIMEOUT: Any = object()  # "this client's call_timeout"
# Defined in vyr.errors (the one hierarchy); still importable from here.
__all__ = ["AuthenticationFailed", "Client", "ConnectionFailed", "RemoteTask"]


class RemoteTask:
    """A task on a daemon: the same surface as `vyr.Task` (id, status, wait, result, cancel)."""

    __slots__ = ("_client", "id")

    def __init__(self, client: Client, task_id: str) -> None:
        self._client = client
        self.id = task_id

    @property
    def status(self) -> str:
        """The current status."""
        return self._client._get(self.id, include_output=False).status

    def wait(self, timeout: float | None = None) -> TaskResult:
        """Blocks until the task ends (raises `WaitTimeout` after `timeout` seconds)."""
        return self._client.wait_task(self.id, timeout)

    def result(self) -> TaskResult:
        """The current snapshot, without waiting."""
        return self._client._get(self.id, include_output=True)

    def cancel(self) -> None:
        """Requests cancellation (queued or running)."""
        self._client.cancel_task(self.id)

    def __repr__(self) -> str:
        return f"RemoteTask({self.id!r})"


class Client:
    """A connection to `vyr daemon` at `endpoint`. `call_timeout`: the deadline, in seconds, of
    each call that answers at once (None: no deadline)."""

    def __init__(
        self,
        endpoint: str,
        *,
        token_file: str | os.PathLike[str] | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT_S,
    ) -> None:
        if call_timeout is not None and not call_timeout > 0:
            raise InvalidArgument(f"call_timeout {call_timeout!r}: expected seconds > 0, or None")
        self.endpoint = endpoint
        self.call_timeout = call_timeout
        self._channel = transport.open_channel(
            endpoint,
            token_file=token_file or os.environ.get("VYR_TOKEN_FILE"),
            ca_file=ca_file or os.environ.get("VYR_CA_FILE"),
            client_cert=client_cert or os.environ.get("VYR_CLIENT_CERT"),
            client_key=client_key or os.environ.get("VYR_CLIENT_KEY"),
        )
        self._stub = pb_grpc.ControlStub(self._channel)

    # -- artifacts --------------------------------------------------------------------------
    def put_artifact(
        self, digest: str, manifest: bytes, signature: bytes, module: bytes
    ) -> Artifact:
        """Uploads (in chunks) a signed module; the daemon verifies, compiles and stores it."""

        def messages() -> Iterator[pb.PutArtifactRequest]:
            header = pb.ArtifactHeader(
                digest=digest, manifest=manifest, signature=signature, size=len(module)
            )
            yield pb.PutArtifactRequest(header=header)
            for offset in range(0, len(module), CHUNK_BYTES):
                yield pb.PutArtifactRequest(chunk=module[offset : offset + CHUNK_BYTES])

        return convert.artifact_from_proto(
            self._call(self._stub.PutArtifact, messages(), timeout=_UNBOUNDED)
        )

    def put_module_file(
        self,
        module_path: str | os.PathLike[str],
        manifest_path: str | os.PathLike[str] | None = None,
        signature_path: str | os.PathLike[str] | None = None,
    ) -> Artifact:
        """Puts MODULE with MODULE.manifest.json and MODULE.sig (as `vyr sign` writes them)."""
        from vyr.keys import read_signed_module

        return self.put_artifact(*read_signed_module(module_path, manifest_path, signature_path))

    def list_artifacts(self) -> list[Artifact]:
        """Stored artifacts."""
        response = self._call(self._stub.ListArtifacts, pb.ListArtifactsRequest())
        return [convert.artifact_from_proto(a) for a in response.artifacts]

    # -- inputs -----------------------------------------------------------------------------
    def put_input(self, data: bytes) -> str:
        """Uploads input bytes in chunks; returns the digest a submit can name."""

        def messages() -> Iterator[pb.PutInputRequest]:
            yield pb.PutInputRequest(digest="sha256:" + hashlib.sha256(data).hexdigest())
            for offset in range(0, len(data), CHUNK_BYTES):
                yield pb.PutInputRequest(chunk=data[offset : offset + CHUNK_BYTES])

        return str(self._call(self._stub.PutInput, messages(), timeout=_UNBOUNDED).digest)

    # -- tasks ------------------------------------------------------------------------------
    def submit_task(
        self,
        artifact_digest: str,
        input_ref: bytes | str = b"",
        state_bindings: Iterable[StateBinding | str] = (),
        resources: Resources | None = None,
        *,
        args: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        deterministic: bool = False,
        idempotency_key: str | None = None,
    ) -> RemoteTask:
        """Accepts a task and returns at once. `input_ref`: stdin bytes, or a `sha256:` digest
        of bytes uploaded with `put_input` (bytes over 1 MiB are uploaded that way for you)."""
        spec = _spec(
            artifact_digest, input_ref, state_bindings, resources, args, env, deterministic
        )
        return self.submit(spec, idempotency_key=idempotency_key)

    def run(
        self,
        artifact_digest: str,
        input_ref: bytes | str = b"",
        state_bindings: Iterable[StateBinding | str] = (),
        resources: Resources | None = None,
        *,
        args: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        deterministic: bool = False,
        idempotency_key: str | None = None,
    ) -> TaskResult:
        """Submits and waits: `submit_task(...).wait()` in one call to the daemon (`SubmitTask`
        with `wait`, which answers once the task's end is in the journal)."""
        spec = _spec(
            artifact_digest, input_ref, state_bindings, resources, args, env, deterministic
        )
        return self.run_spec(spec, idempotency_key=idempotency_key)

    def submit(self, spec: TaskSpec, *, idempotency_key: str | None = None) -> RemoteTask:
        """`submit_task` for a ready `TaskSpec`."""
        return RemoteTask(self, self._submit(self._submit_request(spec, idempotency_key)).task_id)

    def run_spec(self, spec: TaskSpec, *, idempotency_key: str | None = None) -> TaskResult:
        """`run` for a ready `TaskSpec`."""
        request = self._submit_request(spec, idempotency_key)
        request.wait = True
        response = self._submit(request)
        if not response.HasField("task"):  # a daemon that predates `wait` answered at once
            return self.wait_task(response.task_id)
        return convert.task_from_proto(response.task)

    def _submit_request(self, spec: TaskSpec, idempotency_key: str | None) -> pb.SubmitTaskRequest:
        request = pb.SubmitTaskRequest(
            artifact_digest=spec.artifact_digest,
            input_ref=self._input_ref(spec.input_digest or spec.input),
            state_bindings=[convert.binding_to_proto(b) for b in spec.state_bindings],
            resources=convert.resources_to_proto(spec.resources),
            env=dict(spec.env),
            idempotency_key=idempotency_key or "",
            deterministic=spec.deterministic,
        )
        if spec.args is not None:
            request.args.values.extend(spec.args)
        return request

    def _submit(self, request: pb.SubmitTaskRequest) -> pb.SubmitTaskResponse:
        # The caller's current span (if it uses OpenTelemetry) becomes the task's parent.
        metadata = propagation.outgoing_metadata()
        # With `wait` the call lasts as long as the task: the task's own deadline bounds it.
        timeout = _UNBOUNDED if request.wait else self.call_timeout
        response: pb.SubmitTaskResponse = self._call(
            self._stub.SubmitTask, request, timeout=timeout, metadata=metadata
        )
        return response

    def _input_ref(self, input_ref: bytes | str) -> pb.InputRef:
        if isinstance(input_ref, str):
            if not input_ref.startswith("sha256:"):
                raise InvalidArgument("input_ref must be bytes or a sha256: digest from put_input")
            return pb.InputRef(digest=input_ref)
        data = bytes(input_ref)
        if len(data) > INLINE_INPUT_BYTES:
            return pb.InputRef(digest=self.put_input(data))
        return pb.InputRef(inline=data)

    def cancel_task(self, task_id: str) -> bool:
        """Cancels a queued or running task; False if it had already ended."""
        return bool(
            self._call(self._stub.CancelTask, pb.CancelTaskRequest(task_id=task_id)).cancelled
        )

    def task(self, task_id: str) -> RemoteTask:
        """A known task by id (`TaskNotFound` if the daemon has no record of it)."""
        self._get(task_id, include_output=False)
        return RemoteTask(self, task_id)

    def wait_task(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Waits for a task by id (raises `WaitTimeout` after `timeout` seconds)."""
        request = pb.WaitTaskRequest(task_id=task_id, include_output=True)
        deadline = _UNBOUNDED
        if timeout is not None:
            request.timeout_ms = max(1, round(timeout * 1000))
            # Room past `timeout` for the daemon's own WaitTimeout to arrive.
            deadline = timeout + self.call_timeout if self.call_timeout else _UNBOUNDED
        return convert.task_from_proto(self._call(self._stub.WaitTask, request, timeout=deadline))

    def list_tasks(self) -> list[TaskResult]:
        """Known tasks, oldest first (without output): every page of `ListTasks`."""
        tasks: list[TaskResult] = []
        request = pb.ListTasksRequest(page_size=LIST_PAGE_SIZE)
        while True:
            response = self._call(self._stub.ListTasks, request)
            tasks.extend(convert.task_from_proto(t) for t in response.tasks)
            if not response.next_page_token:
                return tasks
            request.page_token = response.next_page_token

    def _get(self, task_id: str, *, include_output: bool) -> TaskResult:
        request = pb.GetTaskRequest(task_id=task_id, include_output=include_output)
        return convert.task_from_proto(self._call(self._stub.GetTask, request))

    # -- state ------------------------------------------------------------------------------
    def create_state(
        self,
        name: str,
        class_: str = "ephemeral",
        *,
        source: str | os.PathLike[str] | None = None,
    ) -> State:
        """Creates an ephemeral state on the daemon, empty or filled from `source`: a directory
        (packed here) or a tar archive, uploaded in chunks and unpacked by the node."""
        content_digest = ""
        if source is not None:
            with state_content.archive_of(state_content.check_source(source)) as archive:
                content_digest = self._put_file(archive, state_content=True)
        request = pb.CreateStateRequest(
            name=name, content_digest=content_digest, **{"class": class_}
        )
        return convert.state_from_proto(self._call(self._stub.CreateState, request))

    def export_state(self, state: str, out: str | os.PathLike[str]) -> State:
        """Writes a state's committed content (by id or name) to `out`: a path ending in `.tar`
        gets the archive, any other a directory (created; it must be missing or empty).
        Returns the state as exported, with its tree digest."""
        target = state_content.check_export_target(out)
        exported: State | None = None
        with state_content.export_staging(target) as staged:
            with open(staged, "wb") as handle:
                request = pb.ExportStateRequest(state=state)
                for message in self._stream(self._stub.ExportState, request, _same, None):
                    handle.write(message.chunk)
                    if message.HasField("state"):
                        exported = convert.state_from_proto(message.state)
            if exported is None:
                raise InternalError("ExportState ended without the state it exported")
            state_content.place_export(staged, target)
        return exported

    def _put_file(self, path: Path, *, state_content: bool) -> str:
        """Uploads a file in chunks (read as it is sent; its digest on the last message)."""

        def messages() -> Iterator[pb.PutInputRequest]:
            hasher = hashlib.sha256()
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    hasher.update(chunk)
                    yield pb.PutInputRequest(chunk=chunk, state_content=state_content)
            digest = "sha256:" + hasher.hexdigest()
            yield pb.PutInputRequest(digest=digest, state_content=state_content)

        return str(self._call(self._stub.PutInput, messages(), timeout=_UNBOUNDED).digest)

    def bind_state(
        self, task_id: str, state_id: str, mode: str = "ro", path: str | None = None
    ) -> None:
        """Binds a state (id or name) to a task that has not started, seen by the guest at
        `path` (default `/state/NAME`)."""
        binding = StateBinding(state_id, mode, path)  # type: ignore[arg-type]
        request = pb.BindStateRequest(
            task_id=task_id,
            state_id=binding.state,
            mode=convert.mode_to_proto(binding.mode),  # type: ignore[arg-type]
            path=binding.path or "",
        )
        self._call(self._stub.BindState, request)

    def list_states(self) -> list[State]:
        """Live states."""
        return [
            convert.state_from_proto(s)
            for s in self._call(self._stub.ListStates, pb.ListStatesRequest()).states
        ]

    # -- trust ------------------------------------------------------------------------------
    def trust_add(self, public_key_text: str) -> str:
        """Trusts a public key on the daemon; returns its key id. The text is what
        `Runtime.trust_add` takes (SubjectPublicKeyInfo PEM or legacy hex): the daemon reads
        it with `Runtime.trust_add`, so it is sent as given."""
        return str(
            self._call(self._stub.TrustAdd, pb.TrustAddRequest(public_key=public_key_text)).key_id
        )

    def trust_list(self) -> list[tuple[str, str]]:
        """Trusted keys as (key id, public key text)."""
        return [
            (k.key_id, k.public_key)
            for k in self._call(self._stub.TrustList, pb.TrustListRequest()).keys
        ]

    def trust_remove(self, key_id: str) -> None:
        """Stops trusting a key."""
        self._call(self._stub.TrustRemove, pb.TrustRemoveRequest(key_id=key_id))

    # -- receipts ---------------------------------------------------------------------------
    def node_key(self) -> NodeKey:
        """The daemon's receipt-signing identity (its key id and SPKI PEM public key)."""
        from vyr.receipts.node_key import NodeKey

        key = self._call(self._stub.GetNodeKey, pb.GetNodeKeyRequest())
        return NodeKey(key.key_id, key.public_key)

    def task_receipt(self, task_id: str) -> bytes:
        """An ended task's receipt (a DSSE envelope signed by the daemon's node key)."""
        request = pb.GetReceiptRequest(task_id=task_id)
        return bytes(self._call(self._stub.GetReceipt, request).receipt)

    # -- observation ------------------------------------------------------------------------
    def stream_traces(
        self,
        task_ids: Iterable[str] = (),
        artifact_digest: str = "",
        statuses: Iterable[str] = (),
        span_names: Iterable[str] = (),
        *,
        after: int | None = 0,
        follow: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[SpanRecord | Gap]:
        """Like `Runtime.stream_traces`, from the daemon's trace history and live tail. To
        resume after a disconnect, pass the last `cursor` seen as `after`."""
        request = pb.TraceFilter(
            task_ids=list(task_ids),
            artifact_digest=artifact_digest,
            statuses=list(statuses),
            span_names=list(span_names),
            history_only=not follow,
        )
        if after is not None:
            request.after_cursor = after
        return self._stream(self._stub.StreamTraces, request, wire.span_from_proto, stop)

    def stream_metrics(
        self,
        names: Iterable[str] = (),
        *,
        interval_ms: int = 0,
        after: int | None = None,
        follow: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[MetricPoint | Gap]:
        """Like `Runtime.stream_metrics`, from the daemon."""
        request = pb.MetricFilter(
            names=list(names), interval_ms=interval_ms, history_only=not follow
        )
        if after is not None:
            request.after_cursor = after
        return self._stream(self._stub.StreamMetrics, request, wire.point_from_proto, stop)

    def _stream(
        self, method: Any, request: Any, convert_item: Any, stop: threading.Event | None
    ) -> Iterator[Any]:
        # No deadline: a stream lasts until the caller stops it (`stop`, or leaving the loop).
        call = method(request)
        if stop is not None:

            def watch() -> None:
                while not stop.wait(0.5):
                    if not call.is_active():
                        return
                call.cancel()

            threading.Thread(target=watch, name="vyr-stream-stop", daemon=True).start()
        try:
            for message in call:
                yield convert_item(message)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise transport.translate(error, self.endpoint) from None
        finally:
            call.cancel()

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self,
        method: Any,
        request: Any,
        *,
        timeout: float | None = _CALL_TIMEOUT,
        metadata: Any = None,
    ) -> Any:
        """One call with its deadline (`call_timeout` unless given) and errors as `VyrError`."""
        if timeout is _CALL_TIMEOUT:
            timeout = self.call_timeout
        try:
            return method(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as error:
            raise transport.translate(error, self.endpoint, timeout) from None


def _spec(
    artifact_digest: str,
    input_ref: bytes | str,
    state_bindings: Iterable[StateBinding | str],
    resources: Resources | None,
    args: Iterable[str] | None,
    env: Mapping[str, str] | None,
    deterministic: bool = False,
) -> TaskSpec:
    """The seed verb's arguments as a spec; a `sha256:` text input names an uploaded blob."""
    if isinstance(input_ref, str):
        if not input_ref.startswith("sha256:"):
            raise InvalidArgument("input_ref must be bytes or a sha256: digest from put_input")
        spec = TaskSpec.of(
            artifact_digest, b"", state_bindings, resources, args, env, deterministic
        )
        return dataclasses.replace(spec, input_digest=input_ref)
    return TaskSpec.of(
        artifact_digest, input_ref, state_bindings, resources, args, env, deterministic
    )


def _same(message: Any) -> Any:
    return message
