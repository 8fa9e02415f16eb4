"""What `receiver.py` does not keep: the OTLP requests as they arrived (instrumentation scope,
schema URL, histogram buckets, dropped attribute counts). Used as is by the convention tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from receiver import GrpcReceiver, Received


class KeepingReceived(Received):
    """`Received`, plus every request kept whole."""

    def __init__(self) -> None:
        super().__init__()
        self.trace_requests: list[trace_pb.ExportTraceServiceRequest] = []
        self.metric_requests: list[metrics_pb.ExportMetricsServiceRequest] = []

    def add_traces(self, request: trace_pb.ExportTraceServiceRequest) -> None:
        with self.lock:
            self.trace_requests.append(request)
        super().add_traces(request)

    def add_metrics(self, request: metrics_pb.ExportMetricsServiceRequest) -> None:
        with self.lock:
            self.metric_requests.append(request)
        super().add_metrics(request)

    def metrics(self) -> Iterator[tuple[Any, Any]]:
        """(scope_metrics, metric) of every metric received, oldest first."""
        with self.lock:
            requests = list(self.metric_requests)
        for request in requests:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        yield scope_metrics, metric

    def latest(self, name: str) -> Any:
        """The last metric named `name` received (None if none was)."""
        found = None
        for _, metric in self.metrics():
            if metric.name == name:
                found = metric
        return found

    def scoped_spans(self) -> Iterator[tuple[Any, Any]]:
        """(scope_spans, span) of every span received."""
        with self.lock:
            requests = list(self.trace_requests)
        for request in requests:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield scope_spans, span


def keeping_grpc_receiver() -> GrpcReceiver:
    """A started OTLP/gRPC receiver whose `received` is a `KeepingReceived`."""
    receiver = GrpcReceiver()
    receiver.received = KeepingReceived()
    return receiver.start()


class BlackHole:
    """A TCP port that accepts connections (the kernel's backlog) and never answers: a collector
    that hangs."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.endpoint = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()
