"""Telemetry settings from the environment. Light on purpose: no OpenTelemetry import here, so
`vyr.Runtime()` can ask "is anything configured?" for the price of a few `os.environ` reads.

Export follows the standard `OTEL_*` variables; nothing is exported unless an OTLP endpoint or
an `OTEL_*_EXPORTER` (`otlp`, `console`) says so. The `VYR_*` variables size the in-memory
history, the per-subscriber queues and the optional on-disk spool, and bound how long closing
waits for delivery (docs/telemetry.md).
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
DEFAULT_EXIT_TIMEOUT_MS = 1000  # what the process exit may add to deliver queued telemetry
DEFAULT_EXPORT_TIMEOUT_S = 10.0  # one OTLP request (OTEL_EXPORTER_OTLP_TIMEOUT, in seconds as
# the Python SDK reads it)
EXPORTERS = frozenset({"otlp", "console"})


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        return default


def exporters(signal: str) -> frozenset[str]:
    """Where `signal` ("traces" or "metrics") goes: a subset of {"otlp", "console"}.
    `OTEL_<SIGNAL>_EXPORTER` decides when set (unknown names are ignored, `none` is empty);
    otherwise an OTLP endpoint variable switches OTLP on."""
    if _flag("OTEL_SDK_DISABLED"):
        return frozenset()
    chosen = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    if chosen:
        return frozenset(part.strip() for part in chosen.split(",")) & EXPORTERS
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    )
    return frozenset({"otlp"}) if endpoint else frozenset()


def export_timeout_s(signal: str) -> float:
    """The timeout of one OTLP request, in seconds (`OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT`)."""
    for name in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        text = os.environ.get(name, "").strip()
        try:
            if text and float(text) > 0:
                return float(text)
        except ValueError:
            pass
    return DEFAULT_EXPORT_TIMEOUT_S


def exit_timeout_s() -> float:
    """How long the process exit may wait for telemetry (`VYR_TELEMETRY_EXIT_TIMEOUT_MS`)."""
    return max(0, _int("VYR_TELEMETRY_EXIT_TIMEOUT_MS", DEFAULT_EXIT_TIMEOUT_MS)) / 1000


def protocol(signal: str) -> str:
    """`grpc` or `http/protobuf` (the OTLP specification's default)."""
    chosen = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    return (chosen or "http/protobuf").strip().lower()


@dataclass(frozen=True)
class Settings:
    """What this process exports and how much it keeps in memory and on disk."""

    trace_exporters: frozenset[str]
    metric_exporters: frozenset[str]
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
            trace_exporters=exporters("traces"),
            metric_exporters=exporters("metrics"),
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

    @property
    def export_traces(self) -> bool:
        """Whether spans leave the process (OTLP or console)."""
        return bool(self.trace_exporters)

    @property
    def export_metrics(self) -> bool:
        """Whether metrics leave the process (OTLP or console)."""
        return bool(self.metric_exporters)


def export_configured() -> bool:
    """Whether any export is configured (the embedded runtime's cheap start-up check)."""
    return bool(exporters("traces") or exporters("metrics"))
