"""How `vyr.Client` reaches a daemon: the channel for an endpoint (TLS, bearer token, mTLS), the
retry policy for idempotent reads, and a failed call turned back into its `VyrError`.

Endpoints: `unix:PATH`, `https://HOST:PORT` (TLS), `http://HOST:PORT` (a daemon started with
--insecure). A bearer token goes with every call over TCP: as call credentials over TLS, as
metadata added by a client interceptor over plain text (gRPC refuses call credentials on an
insecure channel, which used to drop the token silently). Unix-socket peers need none.

Retries: reads that change nothing (`RETRIED_METHODS`) are retried by gRPC itself on
`UNAVAILABLE` (a daemon restarting, a connection reset), with backoff, through the standard
service config; nothing that changes the node is, since the first attempt may have done it.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import Any

import grpc

from vyr import errors
from vyr.api import status
from vyr.errors import ConnectionFailed, InvalidArgument, VyrError

SERVICE = "vyr.api.v0.Control"
RETRIED_METHODS = ("GetTask", "WaitTask", "ListTasks", "ListArtifacts", "ListStates", "TrustList")
MAX_RECEIVE_BYTES = 256 << 20
# gRPC's service config (grpc/doc/service_config.md): up to 3 attempts, backoff jittered under
# 0.05 s then 0.1 s. That rides out a dropped connection or a daemon's GOAWAY; a daemon that is
# down costs a read about 0.15 s more before ConnectionFailed (a restart takes longer than any
# retry would wait). Throttled when most calls fail, so clients do not hammer a failing daemon.
SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": SERVICE, "method": name} for name in RETRIED_METHODS],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
    }
)
_TLS_FAILURES = ("ssl", "tls", "handshake", "certificate")
_TLS_HINT = (
    "check the daemon's certificate: VYR_CA_FILE must name the CA that signed it (or the"
    " certificate itself, if self-signed), and it must be issued for the endpoint's host; if"
    " the daemon asks for a client certificate (--client-ca), set VYR_CLIENT_CERT and"
    " VYR_CLIENT_KEY"
)


def open_channel(
    endpoint: str,
    *,
    token_file: str | os.PathLike[str] | None,
    ca_file: str | os.PathLike[str] | None,
    client_cert: str | os.PathLike[str] | None,
    client_key: str | os.PathLike[str] | None,
) -> grpc.Channel:
    """A channel to `endpoint` with its credentials and the retry policy."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
    ]
    if endpoint.startswith("unix:"):
        return grpc.insecure_channel(endpoint, options=options)
    if endpoint.startswith(("http://", "tcp://")):
        channel = grpc.insecure_channel(endpoint.split("://", 1)[1].rstrip("/"), options=options)
        if token_file:
            return grpc.intercept_channel(channel, BearerToken(_token(token_file)))
        return channel
    if not endpoint.startswith("https://"):
        raise InvalidArgument(
            f"endpoint {endpoint!r}: expected unix:PATH, https://HOST:PORT or http://HOST:PORT"
        )
    target = endpoint.removeprefix("https://").rstrip("/")
    if (client_cert is None) != (client_key is None):
        raise InvalidArgument("mTLS needs both VYR_CLIENT_CERT and VYR_CLIENT_KEY")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file, "CA file") if ca_file else None,
        private_key=_read(client_key, "client key") if client_key else None,
        certificate_chain=_read(client_cert, "client certificate") if client_cert else None,
    )
    if token_file:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(_token(token_file))
        )
    return grpc.secure_channel(target, credentials, options=options)


def translate(error: grpc.RpcError, endpoint: str, deadline_s: float | None = None) -> VyrError:
    """A failed call -> the `VyrError` the daemon raised (its `google.rpc.Status`), else the
    closest class for its status code, with a message about what the client saw."""
    call: Any = error
    carried = status.from_call(call)
    if carried is not None:
        return carried
    code: grpc.StatusCode = call.code()
    message: str = call.details() or code.name
    cls = _BY_STATUS.get(code, VyrError)
    hint: str | None = None
    if code == grpc.StatusCode.UNAVAILABLE:
        message, hint = _unreachable(message, endpoint)
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        within = f" within {deadline_s:g} s" if deadline_s is not None else ""
        message = f"the daemon at {endpoint} did not answer{within} (the call's deadline)"
        hint = "allow longer calls with vyr.Client(endpoint, call_timeout=SECONDS)"
    result = cls(message)
    if hint:
        result.hint = hint
    if cls is VyrError:
        result.grpc_status = code.name
    return result


def _unreachable(message: str, endpoint: str) -> tuple[str, str | None]:
    """What to say when no daemon answered: TLS failures are not "is it running?"."""
    seen = message.lower()
    if any(word in seen for word in _TLS_FAILURES):
        return f"the TLS handshake with the daemon at {endpoint} failed: {message}", _TLS_HINT
    if "socket closed" in seen and endpoint.startswith("https://"):
        # What a daemon that wants a client certificate (mTLS) does to a client without one.
        return (
            f"the daemon at {endpoint} closed the connection during the TLS handshake: {message}",
            "if it requires client certificates (--client-ca), set VYR_CLIENT_CERT and"
            " VYR_CLIENT_KEY; check that it serves TLS on this port",
        )
    if "socket closed" in seen:
        return (
            f"the daemon at {endpoint} closed the connection: {message}",
            "if it serves TLS (--tls-cert), use https://HOST:PORT and VYR_CA_FILE",
        )
    return f"cannot reach the daemon at {endpoint}: {message}", None


# For calls that end without a VYR status: failures of the transport, of a proxy, or a daemon
# older than the google.rpc.Status details.
_BY_STATUS: dict[grpc.StatusCode, type[VyrError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.PERMISSION_DENIED: errors.AuthenticationFailed,
    grpc.StatusCode.UNAUTHENTICATED: errors.AuthenticationFailed,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.CapacityExceeded,
    grpc.StatusCode.UNAVAILABLE: ConnectionFailed,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.WaitTimeout,
    grpc.StatusCode.INTERNAL: errors.InternalError,
}


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` to every call (for plain-text channels)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        given: Any = details
        return _CallDetails(
            given.method,
            given.timeout,
            (*(given.metadata or ()), self._header),
            given.credentials,
            given.wait_for_ready,
            given.compression,
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


def _token(path: str | os.PathLike[str]) -> str:
    return _read(path, "token file").decode().strip()


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read {what} {path}: {error.strerror}") from None
