"""A real OTLP receiver: the trace, metrics and logs services of `opentelemetry-proto` over gRPC
and over HTTP (protobuf or JSON bodies, optionally gzip), keeping what they decode.

In this process (the tests): `GrpcReceiver().start()` or `HttpReceiver().start()`, then read
`receiver.received`. In a process of its own, as a collector is (benchmarks, environments):

    python -m harness.otlp [--protocol http|grpc] [--host H] [--port P] --summary FILE

prints `listening on HOST:PORT`, rewrites FILE (JSON: `Received.summary()`) atomically after
every request and stops on SIGTERM; `receiver_process()` starts it and always stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc

from harness import REPO
from harness.daemon import die_with_parent

# signal -> (request, response, servicer base, registration); the HTTP path is /v1/<signal>.
SIGNALS: dict[str, tuple[Any, Any, Any, Any]] = {
    "traces": (trace_pb.ExportTraceServiceRequest, trace_pb.ExportTraceServiceResponse,
               trace_grpc.TraceServiceServicer, trace_grpc.add_TraceServiceServicer_to_server),
    "metrics": (metrics_pb.ExportMetricsServiceRequest, metrics_pb.ExportMetricsServiceResponse,
                metrics_grpc.MetricsServiceServicer,
                metrics_grpc.add_MetricsServiceServicer_to_server),
    "logs": (logs_pb.ExportLogsServiceRequest, logs_pb.ExportLogsServiceResponse,
             logs_grpc.LogsServiceServicer, logs_grpc.add_LogsServiceServicer_to_server),
}  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Received:
    """What a receiver decoded, shared by both transports (thread-safe). `spans`, `resources`
    and `metric_values` keep every item unless `keep` is off; `summary()` counts always.
    With `summary_file`, the summary is rewritten there after every request."""

    def __init__(self, keep: bool = True, summary_file: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.keep = keep
        self.summary_file = summary_file
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.metric_names: set[str] = set()
        self.metric_values: dict[str, list[Any]] = {}
        # The requests as they arrived (scope, schema URL, buckets, dropped counts), with `keep`.
        self.trace_requests: list[Any] = []
        self.metric_requests: list[Any] = []
        self._requests = dict.fromkeys(SIGNALS, 0)
        self._counts = {"bytes": 0, "spans": 0, "metric_points": 0, "log_records": 0}
        self._span_names: set[str] = set()
        self._services: set[str] = set()
        self._undecoded = 0
        self._write()

    def add(self, signal_name: str, request: Message | None, size: int) -> None:
        """One export request of `size` bytes, decoded (None: it could not be decoded)."""
        with self.lock:
            self._requests[signal_name] += 1
            self._counts["bytes"] += size
            if request is None:
                self._undecoded += 1
            else:
                {"traces": self._traces, "metrics": self._metrics, "logs": self._logs}[signal_name](
                    request
                )
            self._write()

    def add_body(self, signal_name: str, body: bytes, content_type: str) -> None:
        """One export request as an HTTP body (protobuf, or JSON when `content_type` says so)."""
        request = SIGNALS[signal_name][0]()
        try:
            if "json" in content_type:
                json_format.Parse(body, request)
            else:
                request.ParseFromString(body)
        except Exception:  # a malformed body is counted, never fatal to the receiver
            request = None
        self.add(signal_name, request, len(body))

    def summary(self) -> dict[str, Any]:
        """Requests per signal, bytes, spans, metric data points, log records, span names and
        service names so far, and how many requests could not be decoded."""
        with self.lock:
            return self._summary()

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> bool:
        """Whether `predicate(self)` became true within `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False

    def _summary(self) -> dict[str, Any]:
        return {
            "requests": dict(self._requests),
            **self._counts,
            "span_names": sorted(self._span_names),
            "services": sorted(self._services),
            "undecoded": self._undecoded,
        }

    def _write(self) -> None:
        if self.summary_file is not None:
            temporary = self.summary_file.with_name(self.summary_file.name + ".tmp")
            temporary.write_text(json.dumps(self._summary(), sort_keys=True))
            os.replace(temporary, self.summary_file)

    def _resource(self, resource: Any) -> dict[str, Any]:
        attributes = {a.key: _value(a.value) for a in resource.attributes}
        if "service.name" in attributes:
            self._services.add(attributes["service.name"])
        return attributes

    def metrics(self) -> Iterator[tuple[Any, Any]]:
        """(scope_metrics, metric) of every metric kept, oldest first."""
        with self.lock:
            requests = list(self.metric_requests)
        for request in requests:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        yield scope_metrics, metric

    def latest(self, name: str) -> Any:
        """The last metric named `name` kept (None if none was)."""
        found = None
        for _, metric in self.metrics():
            if metric.name == name:
                found = metric
        return found

    def scoped_spans(self) -> Iterator[tuple[Any, Any]]:
        """(scope_spans, span) of every span kept."""
        with self.lock:
            requests = list(self.trace_requests)
        for request in requests:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield scope_spans, span

    def _traces(self, request: Any) -> None:
        if self.keep:
            self.trace_requests.append(request)
        for resource_spans in request.resource_spans:
            resource = self._resource(resource_spans.resource)
            if self.keep:
                self.resources.append(resource)
            for scope in resource_spans.scope_spans:
                self._counts["spans"] += len(scope.spans)
                self._span_names.update(span.name for span in scope.spans)
                if self.keep:
                    self.spans.extend(_span(span, resource) for span in scope.spans)

    def _metrics(self, request: Any) -> None:
        if self.keep:
            self.metric_requests.append(request)
        for resource_metrics in request.resource_metrics:
            self._resource(resource_metrics.resource)
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    self.metric_names.add(metric.name)
                    kind = metric.WhichOneof("data")
                    points = getattr(metric, kind).data_points if kind else []
                    self._counts["metric_points"] += len(points)
                    if self.keep:
                        self.metric_values.setdefault(metric.name, []).append(
                            [({a.key: _value(a.value) for a in p.attributes}, _point(p))
                             for p in points]
                        )  # fmt: skip

    def _logs(self, request: Any) -> None:
        for resource_logs in request.resource_logs:
            self._resource(resource_logs.resource)
            for scope in resource_logs.scope_logs:
                self._counts["log_records"] += len(scope.log_records)


def _span(span: Any, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "kind": span.kind,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "status": span.status.code,
        "attributes": {a.key: _value(a.value) for a in span.attributes},
        "resource": resource,
    }


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _point(point: Any) -> Any:
    if hasattr(point, "bucket_counts"):
        return {"count": point.count, "sum": point.sum}
    return point.as_double if point.WhichOneof("value") == "as_double" else point.as_int


class BlackHole:
    """A TCP port that accepts connections (the kernel's backlog) and never answers: a collector
    that hangs."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.endpoint = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        """Stops accepting."""
        self._socket.close()


class GrpcReceiver:
    """OTLP/gRPC on HOST:`port` (a free one by default); `stop()` and `start()` again simulate
    an outage."""

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", received: Received | None = None
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port()
        self.received = received or Received()
        self._server: grpc.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> GrpcReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        for signal_name, (_, response, base, register) in SIGNALS.items():
            register(_servicer(base, signal_name, response, self.received), server)
        bound = server.add_insecure_port(f"{self.host}:{self.port}")
        assert bound == self.port or self.port == 0, (bound, self.port)
        self.port = bound
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None


def _servicer(base: Any, signal_name: str, response: Any, received: Received) -> Any:
    class Servicer(base):  # type: ignore[misc, valid-type]
        def Export(self, request: Any, context: Any) -> Any:
            received.add(signal_name, request, request.ByteSize())
            return response()

    return Servicer()


class HttpReceiver:
    """OTLP/HTTP on HOST:`port` (a free one by default): POST /v1/traces, /v1/metrics and
    /v1/logs, answered 200 with an empty export response (404 for any other path)."""

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", received: Received | None = None
    ) -> None:
        self.received = received or Received()
        self._server = ThreadingHTTPServer((host, port), _handler(self.received))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(received: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            signal_name = self.path.split("?", 1)[0].removeprefix("/v1/")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if signal_name not in SIGNALS:
                self.send_error(404)
                return
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            content_type = self.headers.get("Content-Type", "application/x-protobuf")
            received.add_body(signal_name, body, content_type)
            response = SIGNALS[signal_name][1]()
            reply = b"{}" if "json" in content_type else response.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:  # quiet: `received` is the record
            pass

    return Handler


# ---- in a process of its own ------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiverProcess:
    """A receiver running in its own process (`receiver_process()`) and its summary file."""

    endpoint: str
    summary_file: Path

    def read(self) -> dict[str, Any]:
        """The summary as of the last request (`Received.summary()`)."""
        return dict(json.loads(self.summary_file.read_text()))


@contextlib.contextmanager
def receiver_process(
    summary_file: Path,
    *,
    protocol: str = "http",
    host: str = "127.0.0.1",
    port: int = 0,
    wrapper: Sequence[str] = (),
) -> Iterator[ReceiverProcess]:
    """Starts `python -m harness.otlp` (optionally inside a wrapper such as `ip netns exec NS`),
    yields it once it listens, and always stops it. It gets SIGTERM if this process dies."""
    command = [*wrapper, sys.executable, "-m", "harness.otlp", "--protocol", protocol,
               "--host", host, "--port", str(port), "--summary", str(summary_file)]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,  # `-m harness.otlp` imports from the repository root
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"OTLP receiver did not start (exit {process.poll()})")
        yield ReceiverProcess("http://" + line.split("listening on ", 1)[1].strip(), summary_file)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> int:
    """The receiver as a process: see the module's docstring."""
    parser = argparse.ArgumentParser(description="An OTLP receiver that summarises what arrives.")
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--summary", type=Path, required=True)
    options = parser.parse_args(argv)
    # Blocked before any server thread starts (they inherit the mask): only sigwait sees them.
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    received = Received(keep=False, summary_file=options.summary)
    receiver: GrpcReceiver | HttpReceiver
    if options.protocol == "grpc":
        receiver = GrpcReceiver(options.port, options.host, received).start()
    else:
        receiver = HttpReceiver(options.port, options.host, received).start()
    print(f"listening on {receiver.endpoint.removeprefix('http://')}", flush=True)
    signal.sigwait(stops)
    receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
