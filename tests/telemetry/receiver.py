"""A real OTLP receiver for the tests: the OTLP trace and metrics services from
`opentelemetry-proto`, over gRPC and over HTTP (protobuf), keeping what they decode."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Received:
    """Decoded spans and metric names, shared by both transports."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.metric_names: set[str] = set()
        self.metric_values: dict[str, list[Any]] = {}

    def add_traces(self, request: trace_pb.ExportTraceServiceRequest) -> None:
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                self.resources.append(resource)
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.spans.append(
                            {
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
                        )

    def add_metrics(self, request: metrics_pb.ExportMetricsServiceRequest) -> None:
        with self.lock:
            for resource_metrics in request.resource_metrics:
                for scope in resource_metrics.scope_metrics:
                    for metric in scope.metrics:
                        self.metric_names.add(metric.name)
                        kind = metric.WhichOneof("data")
                        points = getattr(metric, kind).data_points if kind else []
                        self.metric_values.setdefault(metric.name, []).append(
                            [
                                ({a.key: _value(a.value) for a in p.attributes}, _point(p))
                                for p in points
                            ]
                        )

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _point(point: Any) -> Any:
    if hasattr(point, "bucket_counts"):
        return {"count": point.count, "sum": point.sum}
    return point.as_double if point.WhichOneof("value") == "as_double" else point.as_int


class _Traces(trace_grpc.TraceServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    def Export(self, request: Any, context: Any) -> Any:
        self.received.add_traces(request)
        return trace_pb.ExportTraceServiceResponse()


class _Metrics(metrics_grpc.MetricsServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    def Export(self, request: Any, context: Any) -> Any:
        self.received.add_metrics(request)
        return metrics_pb.ExportMetricsServiceResponse()


class GrpcReceiver:
    """OTLP/gRPC on 127.0.0.1:`port`; `stop()` and `start()` again simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received = Received()
        self._server: grpc.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GrpcReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_grpc.add_TraceServiceServicer_to_server(_Traces(self.received), server)
        metrics_grpc.add_MetricsServiceServicer_to_server(_Metrics(self.received), server)
        assert server.add_insecure_port(f"127.0.0.1:{self.port}") == self.port
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None


class HttpReceiver:
    """OTLP/HTTP (protobuf) on 127.0.0.1: POST /v1/traces and /v1/metrics."""

    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/traces":
                    received.add_traces(trace_pb.ExportTraceServiceRequest.FromString(body))
                    reply = trace_pb.ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    received.add_metrics(metrics_pb.ExportMetricsServiceRequest.FromString(body))
                    reply = metrics_pb.ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """`python receiver.py PORT`: an OTLP/gRPC receiver in its own process (as a collector
    is), for benchmarks; prints "ready", then answers each "spans" line on stdin with the
    number of spans received so far. Ends when stdin closes."""
    import sys

    receiver = GrpcReceiver(int(sys.argv[1])).start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "spans":
            with receiver.received.lock:
                count = len(receiver.received.spans)
            print(count, flush=True)
    receiver.stop()


if __name__ == "__main__":
    main()
