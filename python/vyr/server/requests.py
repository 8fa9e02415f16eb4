"""Requests as they come off the wire: bytes that are not the method's message are refused as
`InvalidArgument` before any handler runs.

grpc.aio decodes a request before it calls the handler, and a decoder that raises ends the
call as `UNKNOWN` with a traceback in the log (or, inside a request stream, as whatever the
handler makes of the exception). The decoder installed here never raises: it hands the handler
a `Malformed` value instead, which the interceptor turns into `INVALID_ARGUMENT` naming the
message it expected.

Values are checked by the node itself (`vyr.Resources` for the ranges a proto field can carry,
then the core against the node's ceilings), in the same units as on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from vyr.errors import InvalidArgument

Decoder = Callable[[bytes], Any]


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
