"""Requests as they come off the wire: bytes that are not the method's message, and values the
proto can carry but the node cannot take, refused as `InvalidArgument` before any handler runs.

grpc.aio decodes a request before it calls the handler, and a decoder that raises ends the
call as `UNKNOWN` with a traceback in the log (or, inside a request stream, as whatever the
handler makes of the exception). The decoder installed here never raises: it hands the handler
a `Malformed` value instead, which the interceptor turns into `INVALID_ARGUMENT` naming the
message it expected.

Range checks are for fields whose proto type is wider than what the daemon converts them to (a
`uint64` of milliseconds that becomes a float of seconds and back overflows near 2**64): each
names the field and its range. Everything else is checked by the node itself, as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from vyr.api.v0 import control_pb2 as pb
from vyr.errors import InvalidArgument, InvalidResources

Decoder = Callable[[bytes], Any]
Check = Callable[[Any], None]


class Malformed:
    """What the guarded decoder returns for bytes that are not a valid request message."""

    __slots__ = ("expected", "reason")

    def __init__(self, expected: str, reason: str) -> None:
        self.expected = expected
        self.reason = reason

    def error(self, method: str) -> InvalidArgument:
        """The error the caller gets."""
        name = method.rpartition("/")[2] or method
        return InvalidArgument(
            f"{name}: the request is not a valid {self.expected} message ({self.reason})"
        )


def guarded_decoder(decode: Decoder | None) -> Decoder | None:
    """`decode`, returning a `Malformed` instead of raising (None stays None: raw bytes)."""
    if decode is None:
        return None
    message_type = getattr(decode, "__self__", None)
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    expected = getattr(descriptor, "full_name", "request")

    def guarded(raw: bytes) -> Any:
        try:
            return decode(raw)
        except Exception as error:  # protobuf's DecodeError, or a decoder's own failure
            return Malformed(expected, str(error) or type(error).__name__)

    return guarded


async def checked_stream(requests: AsyncIterator[Any], method: str) -> AsyncIterator[Any]:
    """A request stream whose first malformed message raises `InvalidArgument`."""
    async for message in requests:
        if type(message) is Malformed:
            raise message.error(method)
        yield message


def range_checks(limits: Mapping[str, int]) -> dict[str, Check]:
    """The range check of each method that has one (by full method name), for a node with
    these limits (`Runtime.limits()`)."""
    max_timeout_ms = int(limits["max_timeout_ms"])

    def submit(request: pb.SubmitTaskRequest) -> None:
        # The one resource that crosses a float on its way to the core (ms -> s -> ms); memory
        # and fuel reach it as integers and are refused there with the node's ceiling.
        if request.resources.HasField("timeout_ms"):
            timeout_ms = request.resources.timeout_ms
            if not 1 <= timeout_ms <= max_timeout_ms:
                raise InvalidResources(
                    f"resources.timeout_ms {timeout_ms} is outside 1..={max_timeout_ms} ms"
                    " (the node's ceiling)"
                )

    return {
        "/vyr.api.v0.Control/SubmitTask": submit,
    }
