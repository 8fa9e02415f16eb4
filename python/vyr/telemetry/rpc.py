"""Server spans for Control API calls, after the RPC semantic conventions: name = `rpc.method`
(`vyr.api.v0.Control/SubmitTask`), kind SERVER, `rpc.system.name`, `rpc.method`,
`rpc.response.status_code`, `network.*` of the peer. The caller's W3C `traceparent` is the
parent; the call's span is current while the handler runs, so the spans of a task it submits
are its children.

Why not opentelemetry-instrumentation-grpc's aio interceptor: it records the older conventions
(`rpc.system`, `rpc.service`, `net.peer.ip`, schema 1.11, a span name with a leading slash) and
makes SDK spans, which would need a span processor of their own; these spans are span records,
exported with the task spans through the same counting processor.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from vyr.telemetry.records import SpanRecord

Context = Any  # grpc.aio.ServicerContext (its stubs' generics add nothing here)
Handler = Any  # grpc.RpcMethodHandler
UNTRACED = ("/grpc.health.v1.Health/",)  # probes every few seconds: noise, not work
# The codes for which a gRPC *server* span is an error (the RPC conventions for gRPC); the
# others (NOT_FOUND, INVALID_ARGUMENT, ...) are the caller's, and leave the status unset.
SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class _Call:
    """One traced call in progress."""

    __slots__ = ("record", "sampled", "state", "token")

    def __init__(self, record: SpanRecord, sampled: bool, state: TraceState | None) -> None:
        self.record = record
        self.sampled = sampled
        self.state = state  # the caller's W3C tracestate, carried on
        self.token: object | None = None


class RpcSpans(grpc.aio.ServerInterceptor):
    """Makes one SERVER span per call (put it first: it then sees the status that the inner
    interceptors set) and hands the sampled ones to `processor`."""

    def __init__(self, processor: Any, sampler: Any) -> None:
        self._processor = processor
        self._sampler = sampler
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(UNTRACED):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method.lstrip("/"))
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    # -- one call ----------------------------------------------------------------------------
    def _start(self, name: str, context: Context) -> _Call:
        carrier = {
            key: value
            for key, value in (context.invocation_metadata() or ())
            if isinstance(value, str)
        }
        parent = propagate.extract(carrier) if "traceparent" in carrier else otel_context.Context()
        caller = trace.get_current_span(parent).get_span_context()
        trace_id = caller.trace_id if caller.is_valid else random.getrandbits(128) or 1
        attributes: dict[str, Any] = {"rpc.system.name": "grpc", "rpc.method": name}
        attributes.update(_peer(context.peer() or ""))
        sampled = self._sampler.should_sample(
            parent, trace_id, name, SpanKind.SERVER, attributes
        ).decision.is_sampled()
        record = SpanRecord(
            name,
            format(trace_id, "032x"),
            format(random.getrandbits(64) or 1, "016x"),
            format(caller.span_id, "016x") if caller.is_valid else "",
            time.time_ns(),
            0,
            attributes,
            kind="server",
            parent_remote=caller.is_valid,
        )
        return _Call(record, sampled, caller.trace_state if caller.is_valid else None)

    def _enter(self, call: _Call) -> None:
        # The call's span becomes the current one: the task spans it starts are its children
        # (and follow its sampling decision).
        record = call.record
        span_context = SpanContext(
            int(record.trace_id, 16),
            int(record.span_id, 16),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED if call.sampled else TraceFlags.DEFAULT),
            trace_state=call.state,
        )
        call.token = otel_context.attach(
            trace.set_span_in_context(NonRecordingSpan(span_context), otel_context.Context())
        )

    def _end(self, call: _Call, context: Context, error: BaseException | None) -> None:
        if call.token is not None:
            try:
                otel_context.detach(call.token)  # type: ignore[arg-type]
            except Exception:  # a generator closed in another context: nothing left to undo
                pass
        if not call.sampled:
            return
        record = call.record
        record.end_time_unix_nano = time.time_ns()
        code = _code(context, error)
        record.attributes["rpc.response.status_code"] = code.name
        if code in SERVER_ERRORS:
            record.status = "error"
            record.status_message = _details(context)
            record.attributes["error.type"] = code.name
        self._processor.enqueue([record], call.state.to_header() if call.state else "")

    # -- handler wrapping -----------------------------------------------------------------------
    def _wrap(self, handler: Handler, name: str) -> Handler:
        kinds = (handler.request_streaming, handler.response_streaming)
        if kinds == (False, False):
            behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
        elif kinds == (True, False):
            behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
        elif kinds == (False, True):
            behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
        else:
            behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler

        if handler.response_streaming:
            # An async generator function itself: grpc.aio tells streaming handlers apart that
            # way. Streams start no task, so the span is not made current here.
            async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
                call = self._start(name, context)
                error: BaseException | None = None
                try:
                    async for item in behavior(request, context):
                        yield item
                except BaseException as raised:
                    error = raised
                    raise
                finally:
                    self._end(call, context, error)

            wrapped: Any = streaming
        else:

            async def unary(request: Any, context: Context) -> Any:
                call = self._start(name, context)
                self._enter(call)
                error: BaseException | None = None
                try:
                    return await behavior(request, context)
                except BaseException as raised:
                    error = raised
                    raise
                finally:
                    self._end(call, context, error)

            wrapped = unary
        return factory(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _code(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status the call ends with: the one set (abort, set_code), else what grpc.aio makes
    of how the handler ended."""
    try:
        code = context.code()
    except Exception:
        code = None
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        for candidate in grpc.StatusCode:
            if candidate.value[0] == code:
                return candidate
    if error is None:
        return grpc.StatusCode.OK
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


def _details(context: Context) -> str:
    try:
        details = context.details()
    except Exception:
        return ""
    if isinstance(details, bytes):
        return details.decode(errors="replace")
    return str(details or "")


def _peer(peer: str) -> dict[str, Any]:
    """`network.*` attributes from grpc's peer string (`ipv4:127.0.0.1:5555`,
    `ipv6:[::1]:5555`, `unix:/path`)."""
    if peer.startswith("unix:"):
        return {"network.transport": "unix"}
    kind, _, address = peer.partition(":")
    host, _, port = address.rpartition(":")
    if kind not in ("ipv4", "ipv6") or not port.isdigit():
        return {}
    return {
        "network.transport": "tcp",
        "network.type": kind,
        "network.peer.address": host.strip("[]"),
        "network.peer.port": int(port),
    }
