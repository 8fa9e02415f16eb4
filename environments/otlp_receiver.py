"""A minimal OTLP/HTTP receiver (protobuf or JSON bodies, optionally gzip), for the environments.

    python environments/otlp_receiver.py --host 127.0.0.1 --port 0 --summary /tmp/otlp.json

It accepts `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, answers 200 with an empty export
response, and keeps a running summary (requests, bytes, spans, metric data points, log records,
span names, service names) that it rewrites atomically to `--summary` after every request. The
first line on stdout is `listening on HOST:PORT`. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


class Summary:
    """What has arrived so far (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {
            "requests": {"traces": 0, "metrics": 0, "logs": 0},
            "bytes": 0,
            "spans": 0,
            "metric_points": 0,
            "log_records": 0,
            "span_names": [],
            "services": [],
            "undecoded": 0,
        }
        self.write()

    def add(self, signal_name: str, body: bytes, content_type: str) -> None:
        counts = _decode(signal_name, body, content_type)
        with self.lock:
            self.data["requests"][signal_name] += 1
            self.data["bytes"] += len(body)
            if counts is None:
                self.data["undecoded"] += 1
            else:
                self.data["spans"] += counts["spans"]
                self.data["metric_points"] += counts["points"]
                self.data["log_records"] += counts["logs"]
                for key, values in (
                    ("span_names", counts["names"]),
                    ("services", counts["services"]),
                ):
                    self.data[key] = sorted(set(self.data[key]) | set(values))
            self.write()

    def write(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(temporary, self.path)


def _decode(signal_name: str, body: bytes, content_type: str) -> dict[str, Any] | None:
    """Counts spans / data points / log records; None when the body cannot be decoded."""
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError:
        return None
    message_type = {
        "traces": trace_service_pb2.ExportTraceServiceRequest,
        "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
        "logs": logs_service_pb2.ExportLogsServiceRequest,
    }[signal_name]
    message = message_type()
    try:
        if "json" in content_type:
            json_format.Parse(body, message)
        else:
            message.ParseFromString(body)
    except Exception:  # a malformed body is counted, never fatal to the receiver
        return None
    counts: dict[str, Any] = {"spans": 0, "points": 0, "logs": 0, "names": set(), "services": set()}
    resources = getattr(
        message,
        {"traces": "resource_spans", "metrics": "resource_metrics", "logs": "resource_logs"}[
            signal_name
        ],
    )
    for resource in resources:
        for attribute in resource.resource.attributes:
            if attribute.key == "service.name":
                counts["services"].add(attribute.value.string_value)
        if signal_name == "traces":
            for scope in resource.scope_spans:
                counts["spans"] += len(scope.spans)
                counts["names"].update(span.name for span in scope.spans)
        elif signal_name == "metrics":
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    counts["points"] += len(getattr(metric, kind).data_points) if kind else 0
        else:
            for scope in resource.scope_logs:
                counts["logs"] += len(scope.log_records)
    return counts


def make_handler(summary: Summary) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            signal_name = SIGNALS.get(self.path.split("?", 1)[0])
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if signal_name is None:
                self.send_error(404)
                return
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            content_type = self.headers.get("Content-Type", "application/x-protobuf")
            summary.add(signal_name, body, content_type)
            reply = b"{}" if "json" in content_type else b""
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:  # quiet: the summary file is the record
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--summary", type=Path, required=True)
    options = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        (options.host, options.port), make_handler(Summary(options.summary))
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on {options.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
