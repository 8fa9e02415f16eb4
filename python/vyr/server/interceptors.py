"""Server interceptors: authentication, the limit on calls in flight, request decoding and
and the one error mapping.

Every handler is wrapped so that a `VyrError` ends the call with its status and a standard
`google.rpc.Status` (`vyr.api.status`: ErrorInfo with the class name, the hint as a
LocalizedMessage), and anything else becomes `INTERNAL` with a generic message and an incident
id that is logged with the traceback. Over TCP a bearer token, when configured, is checked
first (missing or wrong: `UNAUTHENTICATED`); unix-socket peers are trusted (the socket is mode
0600 in a private directory). The health service needs no token. Requests that are not valid
messages, or carry values out of range, are refused as `INVALID_ARGUMENT` (`server/requests.py`).

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
from typing import Any, TypeAlias

import grpc
import grpc.aio

from vyr.api import status
from vyr.errors import AuthenticationFailed, CapacityExceeded, InternalError, VyrError
from vyr.server.requests import Malformed, checked_stream, guarded_decoder

# Strings: both classes are generic (request, response) only in their stubs, not at run time.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

log = logging.getLogger("vyr.server")

_OPEN_METHODS = ("/grpc.health.v1.Health/",)
_TOKEN_HINT = "set VYR_TOKEN_FILE to a file holding this daemon's token (its --token-file)"


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

    def __init__(
        self,
        token: str | None = None,
        max_concurrent_rpcs: int | None = None,
    ) -> None:
        self._token = token
        self.limiter = CallLimiter(max_concurrent_rpcs)
        # Wrapped handlers depend only on the method: build each once, not once per call.
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
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
    handler: Handler,
    method: str,
    token: str | None,
    limiter: CallLimiter | None,
) -> Handler:
    def admit(request: Any, context: Context) -> None:
        """Auth, then the request's shape (before a slot is taken: a refusal is quick)."""
        if token is not None and not (context.peer() or "").startswith("unix:"):
            _authenticate(token, context)
        if handler.request_streaming:
            return
        if type(request) is Malformed:
            raise request.error(method)

    async def unary_response(behavior: Any, request: Any, context: Context) -> Any:
        try:
            admit(request, context)
            if limiter is not None:
                limiter.enter()
        except Exception as error:
            await _abort(context, method, error)
        try:
            return await behavior(request, context)
        except Exception as error:
            await _abort(context, method, error)
        finally:
            if limiter is not None:
                limiter.leave()

    async def stream_response(behavior: Any, request: Any, context: Context) -> AsyncIterator[Any]:
        try:
            admit(request, context)
            if limiter is not None:
                limiter.enter()
        except Exception as error:
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
    behavior: Any
    if kinds == (False, False):
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    elif kinds == (True, False):
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif kinds == (False, True):
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    if handler.request_streaming:
        inner = behavior

        def checking(requests: Any, context: Any) -> Any:
            return inner(checked_stream(requests, method), context)

        behavior = checking

    if handler.response_streaming:
        # An async generator function itself: grpc.aio tells streaming handlers apart that way.
        async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
            async for item in stream_response(behavior, request, context):
                yield item

        wrapped: Any = streaming
    else:

        async def unary(request: Any, context: Context) -> Any:
            return await unary_response(behavior, request, context)

        wrapped = unary
    return factory(
        wrapped,
        request_deserializer=guarded_decoder(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )


def _authenticate(token: str, context: Context) -> None:
    """Raises `AuthenticationFailed` unless the call presents `Bearer <token>`."""
    presented = dict(context.invocation_metadata() or ()).get("authorization")
    if presented is None:
        error = AuthenticationFailed("this node requires a bearer token, and none was sent")
    elif not hmac.compare_digest(str(presented).encode(), f"Bearer {token}".encode()):
        error = AuthenticationFailed("the bearer token is not valid for this node")
    else:
        return
    error.hint = _TOKEN_HINT
    raise error


async def _abort(context: Context, method: str, error: Exception) -> None:
    if isinstance(error, grpc.aio.AbortError):
        raise error
    metadata: dict[str, str] = {}
    if not isinstance(error, VyrError):
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s in %s", incident, method, exc_info=error)
        metadata["incident"] = incident
        error = InternalError(f"internal error (incident {incident}; see the daemon log)")
    await context.abort_with_status(status.to_status(error, metadata))
