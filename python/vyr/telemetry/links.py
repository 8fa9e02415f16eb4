"""One OTLP endpoint per signal: one attempt per request, within a timeout the caller gives, and
one clear log line per outage.

Why not the OTLP exporters' own `export()`: they retry for up to OTEL_EXPORTER_OTLP_TIMEOUT
(10 s) with backoff and log every attempt, so a process that exits with the collector down
waits that long and prints a line per retry (the HTTP one printed the gRPC server's binary
reply). VYR's span processor has its own outage handling (probe, spool, exact drop counts), so
it wants a single bounded attempt. The standard exporters are still built, from the same
`OTEL_EXPORTER_OTLP_*` variables, for what they resolve (endpoint, TLS, headers, compression);
only their transport is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from google.protobuf.message import Message

from vyr.telemetry.config import export_timeout_s, protocol

log = logging.getLogger("vyr.telemetry")
RECONNECT_BACKOFF_MS = 5000  # gRPC reconnects at least this often once the collector is back
_MAX_REASON = 200
_reported: set[str] = set()  # endpoints whose current outage was already logged
_reported_lock = threading.Lock()

Attempt = Callable[[bytes, float], "str | None"]  # payload, timeout -> None, or why it failed


class Link:
    """Sends encoded OTLP requests of one signal to its endpoint."""

    def __init__(self, signal: str, exporter: Any, attempt: Attempt) -> None:
        self.signal = signal
        self.exporter = exporter  # the SDK's OTLP exporter this link took its settings from
        self.endpoint: str = exporter._endpoint
        # Outages are reported per host: traces and metrics to one collector make one line.
        self.target = urlparse(self.endpoint).netloc or self.endpoint
        self.timeout_s = export_timeout_s(signal)
        self._attempt = attempt

    def send(self, request: Message | bytes, timeout_s: float, consequence: str = "") -> bool:
        """One attempt, at most `timeout_s` (and the export timeout). On the first failure of an
        outage, logs one warning that ends with `consequence` (what happens to the data)."""
        payload = request if isinstance(request, bytes) else request.SerializePartialToString()
        try:
            failure = self._attempt(payload, max(0.001, min(self.timeout_s, timeout_s)))
        except Exception as error:  # a transport bug must not kill the thread that sends
            failure = clean_reason(f"{type(error).__name__}: {error}")
        if failure is None:
            with _reported_lock:
                recovered = self.target in _reported
                _reported.discard(self.target)
            if recovered:
                log.info("telemetry: %s export to %s resumed", self.signal, self.endpoint)
            return True
        with _reported_lock:
            first = self.target not in _reported
            _reported.add(self.target)
        if first:
            log.warning(
                "telemetry: cannot export %s to %s: %s%s",
                self.signal,
                self.endpoint,
                failure,
                f"; {consequence}" if consequence else "",
            )
        return False

    def close(self) -> None:
        """Closes the channel or connection pool (idempotent)."""
        if not getattr(self.exporter, "_shutdown", False):
            self.exporter.shutdown()


def open_link(signal: str) -> Link:
    """The link for `signal` ("traces" or "metrics") over OTEL_EXPORTER_OTLP_PROTOCOL."""
    return _grpc_link(signal) if protocol(signal) == "grpc" else _http_link(signal)


def _grpc_link(signal: str) -> Link:
    import grpc

    # Without this, a channel whose collector was down waits up to 2 minutes between reconnects.
    options = (
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
    )
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter(channel_options=options)  # type: ignore[arg-type]
        method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    else:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(channel_options=options)  # type: ignore[arg-type]
        method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    # No serializers: the request is already encoded (and a spooled one stays bytes).
    export = exporter._channel.unary_unary(method)

    def attempt(payload: bytes, timeout_s: float) -> str | None:
        try:
            export(payload, metadata=exporter._headers, timeout=timeout_s)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return f"no answer within {timeout_s:.1f} s"
            return _grpc_reason(error)
        return None

    return Link(signal, exporter, attempt)


def _grpc_reason(error: Any) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    if "connection refused" in (details or "").lower():
        return "connection refused (is the collector running?)"
    reason = clean_reason(f"{code.name if code else 'error'}: {details}")
    if "http1" in (details or "").lower() or "http/1" in (details or "").lower():
        reason += (
            " (this looks like an OTLP/HTTP port, usually 4318: set"
            " OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, or point the endpoint at the gRPC port)"
        )
    return reason


def _http_link(signal: str) -> Link:
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter()
    client = exporter._client

    def attempt(payload: bytes, timeout_s: float) -> str | None:
        result = client._submit(client._compress(payload), timeout_s)
        if result.status_code is not None and 200 <= result.status_code < 300:
            return None
        if result.status_code is not None:
            return clean_reason(f"HTTP {result.status_code} {result.reason or ''}".strip())
        if "timeout" in type(result.error).__name__.lower():
            return f"no answer within {timeout_s:.1f} s"
        return _http_error_reason(result.error)

    return Link(signal, exporter, attempt)


def _http_error_reason(error: BaseException | None) -> str:
    text = f"{type(error).__name__}: {error}" if error is not None else "no response"
    # An HTTP/1.1 client that reaches an HTTP/2 (gRPC) server reads its binary SETTINGS frame
    # as a status line: say what that means instead of printing the bytes.
    if "BadStatusLine" in text or not _printable(text):
        return (
            "the endpoint does not speak HTTP/1.1 (this looks like an OTLP/gRPC port, usually"
            " 4317: set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or point the endpoint at the OTLP/HTTP"
            " port, usually 4318)"
        )
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused (is the collector running?)"
    return clean_reason(text)


def _printable(text: str) -> bool:
    return all(character.isprintable() or character in "\t\n" for character in text)


def clean_reason(text: str) -> str:
    """One printable line, at most `_MAX_REASON` characters."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 1] + "…"
