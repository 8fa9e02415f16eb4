"""Server interceptors: authentication, the limit on calls in flight, and the one error mapping.

Every handler is wrapped so that a `VyrError` becomes its `grpc_status` with its message (and
hint), and anything else becomes `INTERNAL` with a generic message and an id that is logged with
the traceback. Over TCP a bearer token, when configured, is checked first; unix-socket peers are
trusted (the socket is mode 0600 in a private directory). The health service needs no token.

The concurrent-call limit is counted here rather than left to grpc's `maximum_concurrent_rpcs`,
whose refusal says only "Concurrent RPC limit exceeded!": a refused caller is told the limit,
the flag that sets it and what to do, and gets `CapacityExceeded` from `vyr.Client`. Health
checks are not counted, so a daemon at its limit still reports SERVING.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from vyr.errors import CapacityExceeded, VyrError

log = logging.getLogger("vyr.server")

_OPEN_METHODS = ("/grpc.health.v1.Health/",)
ERROR_CLASS_KEY = "vyr-error"


def status_of(error: VyrError) -> grpc.StatusCode:
    """The gRPC status a `VyrError` maps to (its `grpc_status` attribute, by name)."""
    return getattr(grpc.StatusCode, error.grpc_status, grpc.StatusCode.UNKNOWN)


def error_message(error: VyrError) -> str:
    """The message a client sees: the error, then its hint on a second line."""
    hint = getattr(error, "hint", None)
    return f"{error}\nhint: {hint}" if hint else str(error)


class CallLimiter:
    """Counts calls in flight (handlers run on the one event loop: no lock needed)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0

    def enter(self) -> None:
        """Takes a slot or raises `CapacityExceeded`."""
        if self.limit is not None and self.in_flight >= self.limit:
            error = CapacityExceeded(
                f"too many calls in flight: this daemon serves at most {self.limit} at once"
                " (--max-concurrent-rpcs; calls waiting for a task count)"
            )
            error.hint = (
                "retry with backoff, or restart the daemon with a larger --max-concurrent-rpcs"
            )
            raise error
        self.in_flight += 1

    def leave(self) -> None:
        """Frees a slot."""
        self.in_flight -= 1


class ControlInterceptor(grpc.aio.ServerInterceptor):
    """Auth (bearer token for network peers), the call limit and error mapping, for every method."""

    def __init__(self, token: str | None = None, max_concurrent_rpcs: int | None = None) -> None:
        self._token = token
        self.limiter = CallLimiter(max_concurrent_rpcs)
        # Wrapped handlers depend only on the method: build each once, not once per call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        open_method = method.startswith(_OPEN_METHODS)
        needs_token = self._token is not None and not open_method
        wrapped = _wrap(
            handler,
            method,
            self._token if needs_token else None,
            None if open_method else self.limiter,
        )
        self._wrapped[method] = (handler, wrapped)
        return wrapped


def _wrap(
    handler: grpc.RpcMethodHandler, method: str, token: str | None, limiter: CallLimiter | None
) -> grpc.RpcMethodHandler:
    async def guard(context: grpc.aio.ServicerContext) -> None:
        if token is None or (context.peer() or "").startswith("unix:"):
            return
        presented = dict(context.invocation_metadata() or ()).get("authorization")
        if presented is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "this node requires a bearer token (set VYR_TOKEN_FILE)",
            )
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "the bearer token is not valid for this node"
            )

    async def unary_response(behavior: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await guard(context)
        try:
            if limiter is not None:
                limiter.enter()
        except VyrError as error:
            await _abort(context, method, error)
        try:
            return await behavior(request, context)
        except Exception as error:
            await _abort(context, method, error)
        finally:
            if limiter is not None:
                limiter.leave()

    async def stream_response(
        behavior: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        await guard(context)
        try:
            if limiter is not None:
                limiter.enter()
        except VyrError as error:
            await _abort(context, method, error)
        try:
            async for item in behavior(request, context):
                yield item
        except Exception as error:
            await _abort(context, method, error)
        finally:
            if limiter is not None:
                limiter.leave()

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
        # An async generator function itself: grpc.aio tells streaming handlers apart that way.
        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for item in stream_response(behavior, request, context):
                yield item

        wrapped: Any = streaming
    else:

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await unary_response(behavior, request, context)

        wrapped = unary
    return factory(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


async def _abort(context: grpc.aio.ServicerContext, method: str, error: Exception) -> None:
    if isinstance(error, grpc.aio.AbortError):
        raise error
    if isinstance(error, VyrError):
        # The class name lets `vyr.Client` raise the very class the embedded runtime would.
        context.set_trailing_metadata(((ERROR_CLASS_KEY, type(error).__name__),))
        await context.abort(status_of(error), error_message(error))
    incident = uuid.uuid4().hex[:12]
    log.error("internal error %s in %s", incident, method, exc_info=error)
    await context.abort(
        grpc.StatusCode.INTERNAL, f"internal error (incident {incident}; see the daemon log)"
    )
