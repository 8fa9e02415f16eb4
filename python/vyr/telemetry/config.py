"""Telemetry settings from the environment. Light on purpose: no OpenTelemetry import here, so
`vyr.Runtime()` can ask "is anything configured?" for the price of a few `os.environ` reads.

Export follows the standard `OTEL_*` variables; nothing is exported unless an OTLP endpoint or
an `OTEL_*_EXPORTER=otlp` says so. The `VYR_*` variables size the in-memory history, the
per-subscriber queues and the optional on-disk spool (docs/telemetry.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TRACE_HISTORY = 10_000  # tasks whose spans a reconnecting stream can still get
DEFAULT_METRIC_HISTORY = 600  # metric snapshots (10 min at the default interval)
DEFAULT_SUBSCRIBER_QUEUE = 10_000  # items one stream may fall behind before it loses some
DEFAULT_SNAPSHOT_MS = 1000
DEFAULT_SPOOL_MAX_BYTES = 64 << 20
DEFAULT_PENDING_TASKS = 100_000  # ended tasks waiting for the telemetry thread


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _exports(signal: str) -> bool:
    """Whether `signal` ("traces" or "metrics") goes to an OTLP endpoint."""
    if _flag("OTEL_SDK_DISABLED"):
        return False
    chosen = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    if chosen:
        return "otlp" in {part.strip() for part in chosen.split(",")}
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    )


def protocol(signal: str) -> str:
    """`grpc` or `http/protobuf` (the OTLP specification's default)."""
    chosen = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    return (chosen or "http/protobuf").strip().lower()


@dataclass(frozen=True)
class Settings:
    """What this process exports and how much it keeps in memory and on disk."""

    export_traces: bool
    export_metrics: bool
    trace_history: int = DEFAULT_TRACE_HISTORY
    metric_history: int = DEFAULT_METRIC_HISTORY
    subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE
    snapshot_ms: int = DEFAULT_SNAPSHOT_MS
    pending_tasks: int = DEFAULT_PENDING_TASKS
    spool_dir: Path | None = None
    spool_max_bytes: int = DEFAULT_SPOOL_MAX_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        """Reads `OTEL_*` and `VYR_TELEMETRY_*` / `VYR_TRACE_HISTORY` etc."""
        spool = os.environ.get("VYR_TELEMETRY_SPOOL_DIR", "").strip()
        return cls(
            export_traces=_exports("traces"),
            export_metrics=_exports("metrics"),
            trace_history=max(1, _int("VYR_TRACE_HISTORY", DEFAULT_TRACE_HISTORY)),
            metric_history=max(1, _int("VYR_METRIC_HISTORY", DEFAULT_METRIC_HISTORY)),
            subscriber_queue=max(1, _int("VYR_STREAM_QUEUE", DEFAULT_SUBSCRIBER_QUEUE)),
            snapshot_ms=max(10, _int("VYR_METRICS_SNAPSHOT_MS", DEFAULT_SNAPSHOT_MS)),
            pending_tasks=max(1, _int("VYR_TELEMETRY_PENDING", DEFAULT_PENDING_TASKS)),
            spool_dir=Path(spool).expanduser() if spool else None,
            spool_max_bytes=max(
                1 << 16, _int("VYR_TELEMETRY_SPOOL_MAX_BYTES", DEFAULT_SPOOL_MAX_BYTES)
            ),
        )


def export_configured() -> bool:
    """Whether any OTLP export is configured (the embedded runtime's cheap start-up check)."""
    return _exports("traces") or _exports("metrics")
