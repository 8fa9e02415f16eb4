"""The Control servicer: proto <-> domain only; the work is `Node`'s, off the event loop.

Rust work runs through `asyncio.to_thread`; waiting for a task (`WaitTask`, or `SubmitTask`
with `wait`) awaits a future that the node completes (through `LoopWaker`) once the task's end is
committed to the journal, so no thread sits blocked per waiter and no waiter hears of an end a
crash could still undo.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc.aio

from vyr.api import convert
from vyr.api.v0 import control_pb2 as pb
from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.errors import ArtifactTooLarge, InputTooLarge, InvalidArgument, ShuttingDown, WaitTimeout
from vyr.server import observe, paging
from vyr.server.node import Node
from vyr.telemetry import propagation
from vyr.types import StateBinding, TaskResult, TaskSpec

# A string: grpc.aio.ServicerContext is generic only in its stubs, not at run time.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
INLINE_SUBMIT_BYTES = 64 << 10  # copying this much on the event loop takes well under 100 µs
EXPORT_CHUNK_BYTES = 1 << 20  # as uploads: well under gRPC's 4 MiB message cap


class ControlServicer(pb_grpc.ControlServicer):
    """Implements `vyr.api.v0.Control` over a `Node`."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.limits = node.limits()
        self.accepting = True
        self._waker: LoopWaker | None = None

    def _loop_waker(self) -> LoopWaker:
        loop = asyncio.get_running_loop()
        if self._waker is None or self._waker.loop is not loop:
            self._waker = LoopWaker(loop)
        return self._waker

    # -- artifacts --------------------------------------------------------------------------
    async def PutArtifact(
        self, request_iterator: AsyncIterator[pb.PutArtifactRequest], context: Context
    ) -> pb.Artifact:
        header: pb.ArtifactHeader | None = None
        chunks: list[bytes] = []
        size = 0
        limit = self.limits["max_artifact_bytes"]
        async for message in request_iterator:
            part = message.WhichOneof("part")
            if part == "header":
                if header is not None:
                    raise InvalidArgument("PutArtifact: the header must be sent once, first")
                header = message.header
                if header.size > limit:
                    raise ArtifactTooLarge(
                        f"module is {header.size} bytes, the node accepts {limit}"
                    )
            elif header is None:
                raise InvalidArgument("PutArtifact: the first message must carry the header")
            elif part == "chunk":
                size += len(message.chunk)
                if size > limit:
                    raise ArtifactTooLarge(f"module exceeds the node's limit of {limit} bytes")
                chunks.append(message.chunk)
        if header is None:
            raise InvalidArgument("PutArtifact: no header was sent")
        if header.size and header.size != size:
            raise InvalidArgument(
                f"PutArtifact: the header announced {header.size} bytes, the chunks held {size}"
            )
        self._check_accepting()
        module = b"".join(chunks)
        artifact = await asyncio.to_thread(
            self.node.put_artifact, header.digest, header.manifest, header.signature, module
        )
        return convert.artifact_to_proto(artifact)

    async def ListArtifacts(
        self, request: pb.ListArtifactsRequest, context: Context
    ) -> pb.ListArtifactsResponse:
        artifacts = await asyncio.to_thread(self.node.list_artifacts)
        return pb.ListArtifactsResponse(artifacts=[convert.artifact_to_proto(a) for a in artifacts])

    # -- inputs -----------------------------------------------------------------------------
    async def PutInput(
        self, request_iterator: AsyncIterator[pb.PutInputRequest], context: Context
    ) -> pb.PutInputResponse:
        first = await anext(aiter(request_iterator), None)
        if first is not None and first.state_content:
            return await self._put_state_content(first, request_iterator)
        chunks: list[bytes] = []
        size = 0
        expected = ""
        limit = self.limits["max_input_bytes"]
        messages = _prepend(first, request_iterator)
        async for message in messages:
            expected = _one_digest(expected, message.digest)
            size += len(message.chunk)
            if size > limit:
                raise InputTooLarge(f"input exceeds the node's limit of {limit} bytes")
            chunks.append(message.chunk)
        digest = await asyncio.to_thread(self.node.put_input, b"".join(chunks), expected or None)
        return pb.PutInputResponse(digest=digest, size=size)

    async def _put_state_content(
        self, first: pb.PutInputRequest, rest: AsyncIterator[pb.PutInputRequest]
    ) -> pb.PutInputResponse:
        # A state archive may be as large as the state cap: streamed to disk, never held.
        writer = await asyncio.to_thread(self.node.state_content_writer)
        expected = ""
        try:
            async for message in _prepend(first, rest):
                expected = _one_digest(expected, message.digest)
                if message.chunk:
                    await asyncio.to_thread(writer.write, message.chunk)
        except BaseException:
            writer.abort()
            raise
        digest = await asyncio.to_thread(writer.finish, expected or None)
        return pb.PutInputResponse(digest=digest, size=writer.size)

    # -- tasks ------------------------------------------------------------------------------
    async def SubmitTask(
        self, request: pb.SubmitTaskRequest, context: Context
    ) -> pb.SubmitTaskResponse:
        self._check_accepting()
        spec = _spec(request)
        # The caller's `traceparent` becomes the task's parent span (to_thread copies the context).
        token = propagation.attach_incoming(context.invocation_metadata())
        try:
            task_id, existing = await self._submit(spec, request.idempotency_key)
        finally:
            propagation.detach(token)
        if not request.wait:
            return pb.SubmitTaskResponse(task_id=task_id, existing=existing)
        # Submit and wait in one call (a v0 addition): the task comes back once its end is
        # committed to the journal; the call's own deadline bounds the wait.
        result = await self._ended(task_id, None, include_output=True)
        return pb.SubmitTaskResponse(task_id=task_id, existing=existing, task=_task(result))

    async def CancelTask(
        self, request: pb.CancelTaskRequest, context: Context
    ) -> pb.CancelTaskResponse:
        cancelled = await asyncio.to_thread(self.node.cancel, request.task_id)
        return pb.CancelTaskResponse(cancelled=cancelled)

    async def GetTask(self, request: pb.GetTaskRequest, context: Context) -> pb.Task:
        return _task(
            await asyncio.to_thread(self.node.view, request.task_id, request.include_output)
        )

    async def WaitTask(self, request: pb.WaitTaskRequest, context: Context) -> pb.Task:
        timeout_s = request.timeout_ms / 1000 if request.timeout_ms else None
        return _task(await self._ended(request.task_id, timeout_s, request.include_output))

    async def ListTasks(
        self, request: pb.ListTasksRequest, context: Context
    ) -> pb.ListTasksResponse:
        after = paging.position_of(request.page_token)
        size = paging.page_size(request.page_size)
        results, last, more = await asyncio.to_thread(self.node.list_page, after, size)
        return pb.ListTasksResponse(
            tasks=[_task(result) for result in results],
            next_page_token=paging.token_after(last) if more else "",
        )

    # -- state ------------------------------------------------------------------------------
    async def CreateState(self, request: pb.CreateStateRequest, context: Context) -> pb.State:
        self._check_accepting()
        state = await asyncio.to_thread(
            self.node.create_state,
            request.name,
            getattr(request, "class") or "ephemeral",
            request.content_digest or None,
        )
        return convert.state_to_proto(state)

    async def BindState(
        self, request: pb.BindStateRequest, context: Context
    ) -> pb.BindStateResponse:
        mode = convert.mode_from_proto(request.mode)
        binding = StateBinding(request.state_id, mode, request.path or None)  # type: ignore[arg-type]
        await asyncio.to_thread(self.node.bind_state, request.task_id, binding)
        return pb.BindStateResponse()

    async def ListStates(
        self, request: pb.ListStatesRequest, context: Context
    ) -> pb.ListStatesResponse:
        states = await asyncio.to_thread(self.node.list_states)
        return pb.ListStatesResponse(states=[convert.state_to_proto(s) for s in states])

    async def ExportState(
        self, request: pb.ExportStateRequest, context: Context
    ) -> AsyncIterator[pb.StateChunk]:
        archive, state = await asyncio.to_thread(self.node.export_state, request.state)
        try:
            with open(archive, "rb") as handle:
                while chunk := await asyncio.to_thread(handle.read, EXPORT_CHUNK_BYTES):
                    yield pb.StateChunk(chunk=chunk)
            yield pb.StateChunk(state=convert.state_to_proto(state))
        finally:
            archive.unlink(missing_ok=True)

    # -- trust ------------------------------------------------------------------------------
    async def TrustAdd(self, request: pb.TrustAddRequest, context: Context) -> pb.TrustKey:
        key_id = await asyncio.to_thread(self.node.trust_add, request.public_key)
        return pb.TrustKey(key_id=key_id, public_key=request.public_key)

    async def TrustList(
        self, request: pb.TrustListRequest, context: Context
    ) -> pb.TrustListResponse:
        keys = await asyncio.to_thread(self.node.trust_list)
        return pb.TrustListResponse(keys=[pb.TrustKey(key_id=k, public_key=p) for k, p in keys])

    async def TrustRemove(
        self, request: pb.TrustRemoveRequest, context: Context
    ) -> pb.TrustRemoveResponse:
        await asyncio.to_thread(self.node.trust_remove, request.key_id)
        return pb.TrustRemoveResponse()

    # -- receipts ---------------------------------------------------------------------------
    async def GetNodeKey(self, request: pb.GetNodeKeyRequest, context: Context) -> pb.NodeKey:
        key = await asyncio.to_thread(self.node.node_key)
        return pb.NodeKey(key_id=key.key_id, public_key=key.public_key)

    async def GetReceipt(self, request: pb.GetReceiptRequest, context: Context) -> pb.Receipt:
        receipt = await asyncio.to_thread(self.node.task_receipt, request.task_id)
        return pb.Receipt(receipt=receipt)

    # -- observation (server/observe.py) -------------------------------------------------------
    async def StreamTraces(
        self, request: pb.TraceFilter, context: Context
    ) -> AsyncIterator[pb.Span]:
        """Spans of ended tasks: the replay asked for, then the live tail until the client leaves."""
        async for span in observe.stream_traces(self.node.telemetry(), request):
            yield span

    async def StreamMetrics(
        self, request: pb.MetricFilter, context: Context
    ) -> AsyncIterator[pb.MetricPoint]:
        """The node's metric values now, then one snapshot per interval."""
        async for point in observe.stream_metrics(self.node.telemetry(), request):
            yield point

    async def _submit(self, spec: TaskSpec, idempotency_key: str) -> tuple[str, bool]:
        """An unkeyed submit with a small inline input is accepted on the event loop (the runtime
        only queues it) and journalled in a commit shared with other submits; the rest (a key to
        look up, an input blob to read) take a worker thread."""
        if idempotency_key or spec.input_digest or len(spec.input) > INLINE_SUBMIT_BYTES:
            return await asyncio.to_thread(self.node.submit, spec, idempotency_key)
        waker = self._loop_waker()
        committed: asyncio.Future[BaseException | None] = waker.loop.create_future()
        task_id = self.node.submit_inline(spec, lambda error: waker.resolve(committed, error))
        error = await committed  # the row is durable before the client learns the id
        if error is not None:
            raise error
        return task_id, False

    async def _ended(
        self, task_id: str, timeout_s: float | None, include_output: bool
    ) -> TaskResult:
        """The task once its end is committed to the journal (`WaitTimeout` after
        `timeout_s`); no thread waits: the journal loop resolves a future on this loop."""
        waker = self._loop_waker()
        recorded: asyncio.Future[TaskResult] = waker.loop.create_future()
        if self.node.when_recorded(task_id, lambda result: waker.resolve(recorded, result)):
            try:
                result = (
                    await asyncio.wait_for(recorded, timeout_s)
                    if timeout_s is not None
                    else await recorded
                )
            except TimeoutError:
                raise WaitTimeout(f"timed out waiting for task {task_id}") from None
        else:  # ended and recorded already (or unknown: `node.view` raises TaskNotFound)
            recent = self.node.recent(task_id)
            if recent is None:
                return await asyncio.to_thread(self.node.view, task_id, include_output)
            result = recent
        return result if include_output else result.without_output()

    def _check_accepting(self) -> None:
        if not self.accepting:
            raise ShuttingDown("the node is shutting down and accepts no new work")


def _task(result: TaskResult) -> pb.Task:
    return convert.task_to_proto(result, include_output=True)


def _spec(request: pb.SubmitTaskRequest) -> TaskSpec:
    """The request as a spec; an input by digest is read from the blob store by the node."""
    by_digest = request.input_ref.WhichOneof("source") == "digest"
    return TaskSpec(
        artifact_digest=request.artifact_digest,
        input=b"" if by_digest else request.input_ref.inline,
        input_digest=request.input_ref.digest if by_digest else None,
        state_bindings=tuple(convert.binding_from_proto(b) for b in request.state_bindings),
        resources=convert.resources_from_proto(request.resources),
        args=tuple(request.args.values) if request.HasField("args") else None,
        env=dict(request.env),
        deterministic=request.deterministic,
    )


class LoopWaker:
    """Resolves futures of one event loop from other threads, with one wake-up per burst.

    Under load the journal thread announces many ends per commit; one `call_soon_threadsafe`
    per future would cost a write to the loop's self-pipe and a loop wake-up each. Here the
    first value of a burst schedules the drain and later ones ride along until it runs.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: list[tuple[asyncio.Future[Any], Any]] = []
        self._lock = threading.Lock()

    def resolve(self, future: asyncio.Future[Any], value: Any) -> None:
        """From any thread: `future.set_result(value)` on the loop, unless it is done by then."""
        with self._lock:
            self._pending.append((future, value))
            if len(self._pending) > 1:
                return  # a drain is already scheduled
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop has closed: the daemon is gone, nobody is waiting
            pass

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future, value in pending:
            if not future.done():  # a waiter that timed out or left has cancelled it
                future.set_result(value)


async def _prepend(
    first: pb.PutInputRequest | None, rest: AsyncIterator[pb.PutInputRequest]
) -> AsyncIterator[pb.PutInputRequest]:
    if first is not None:
        yield first
    async for message in rest:
        yield message


def _one_digest(expected: str, sent: str) -> str:
    """The upload's expected digest: any message may name it, but only one value."""
    if sent and expected and sent != expected:
        raise InvalidArgument(f"PutInput: two digests were sent ({expected} and {sent})")
    return sent or expected
