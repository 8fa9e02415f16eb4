"""`VyrError` <-> `google.rpc.Status`: the one mapping between the error classes and the wire.

A `VyrError` leaves the daemon as its class's gRPC code with a standard `google.rpc.Status` in
the `grpc-status-details-bin` trailer (what grpcio-status writes and every gRPC ecosystem reads):
- `code` and `message`: the class's `grpc_status` and the error's message;
- an `ErrorInfo` detail: `reason` = the class name in `vyr.errors`, `domain` = `DOMAIN`,
  `metadata` = what else the caller may need (`incident` for an internal error);
- a `LocalizedMessage` detail (`HINT_LOCALE`) with the hint, when the error has one.

`to_status` is the daemon's direction, `from_call` the client's: it rebuilds the same class,
message and hint, or returns None when the call carries no VYR `ErrorInfo` (a failure of the
transport, or of another server), which the client then names from the status code alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from vyr import errors
from vyr.errors import VyrError

DOMAIN = "vyr.dev"
HINT_LOCALE = "en-US"
# The message travels twice (grpc-message, and in the Status): a bound keeps both well inside
# gRPC's default 8 KiB limit on trailing metadata, which would otherwise turn the error into
# an unrelated one.
MAX_MESSAGE_CHARS = 2000


def code_of(error: VyrError) -> grpc.StatusCode:
    """The gRPC status code a `VyrError` maps to (its class's `grpc_status`, by name)."""
    code = getattr(grpc.StatusCode, error.grpc_status, None)
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def to_status(error: VyrError, metadata: Mapping[str, str] | None = None) -> grpc.Status:
    """The `grpc.Status` a handler aborts with for `error` (`context.abort_with_status`)."""
    code = code_of(error)
    message = str(error)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    info = error_details_pb2.ErrorInfo(
        reason=type(error).__name__, domain=DOMAIN, metadata=dict(metadata or {})
    )
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(info)
    hint = error.hint
    if hint:
        status.details.add().Pack(
            error_details_pb2.LocalizedMessage(locale=HINT_LOCALE, message=hint)
        )
    return rpc_status.to_status(status)


def from_call(call: grpc.Call) -> VyrError | None:
    """The `VyrError` a failed call carries in its `google.rpc.Status`, or None if none does."""
    try:
        status = rpc_status.from_call(call)
    except ValueError:  # a code or message that disagrees with the trailer: trust neither
        return None
    if status is None:
        return None
    info = error_details_pb2.ErrorInfo()
    hint: str | None = None
    found = False
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
            found = info.domain == DOMAIN
        elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            localized = error_details_pb2.LocalizedMessage()
            detail.Unpack(localized)
            hint = localized.message or None
    if not found:
        return None
    cls = error_class(info.reason)
    error = cls(status.message)
    if cls is VyrError:  # a class this client does not know: keep the daemon's code
        error.grpc_status = call.code().name
    if hint != cls.hint:  # an instance's own hint, or none where the class has one
        error.hint = hint
    return error


def error_class(reason: str) -> type[VyrError]:
    """The `vyr.errors` class named `reason`; `VyrError` for a name this version lacks."""
    cls = getattr(errors, reason, None) if reason in errors.__all__ else None
    return cls if isinstance(cls, type) and issubclass(cls, VyrError) else VyrError
