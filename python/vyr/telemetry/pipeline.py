"""`Telemetry`: the OpenTelemetry SDK wired once from the environment (resource, sampler,
span processor and exporter, metric reader). Library code then uses only the API objects it
hands out (`tracer`, `meter`).
"""

from __future__ import annotations

import atexit
import os
import random
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import IdGenerator

from vyr.telemetry.config import Settings, protocol

_DEFAULT: Telemetry | None = None
_DEFAULT_LOCK = threading.Lock()


class PresetIds(IdGenerator):
    """Random ids, unless the calling thread preset the next ones: spans replayed from the
    phase clock keep the ids the streams already show and the sampler already decided on."""

    def __init__(self) -> None:
        self._local = threading.local()

    def preset(self, trace_id: int, span_id: int) -> None:
        """The next `generate_*` calls on this thread return these."""
        self._local.trace_id, self._local.span_id = trace_id, span_id

    def generate_span_id(self) -> int:
        value: int = getattr(self._local, "span_id", 0)
        self._local.span_id = 0
        return value or random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        value: int = getattr(self._local, "trace_id", 0)
        self._local.trace_id = 0
        return value or random.getrandbits(128) or 1


def _resource() -> Any:
    from opentelemetry.sdk.resources import Resource

    import vyr

    attributes: dict[str, str] = {"service.version": vyr.__version__}
    configured = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in configured:
        attributes["service.name"] = "vyr"
    return Resource.create(attributes)


class Telemetry:
    """Span and metric export for the nodes of this process.

    `sampler` overrides `OTEL_TRACES_SAMPLER`; `send` (an encoded-request sender) and
    `metric_exporter` override the OTLP exporters (tests, benchmarks).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sampler: Any = None,
        send: Any = None,
        metric_exporter: Any = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.ids = PresetIds()
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.processor: Any = None
        self.tracer: trace.Tracer | None = None
        self.sampler: Any = None
        self.meter: Any = None
        resource = _resource() if (self.settings.export_traces or self.settings.export_metrics) else None
        if self.settings.export_traces:
            from opentelemetry.sdk.trace import TracerProvider

            from vyr.telemetry.export import CountingBatchProcessor, otlp_sender
            from vyr.telemetry.spool import Spool

            spool = Spool(self.settings.spool_dir, self.settings.spool_max_bytes) if self.settings.spool_dir else None
            self.tracer_provider = TracerProvider(resource=resource, sampler=sampler, id_generator=self.ids)
            self.processor = CountingBatchProcessor(send or otlp_sender(), spool)
            self.tracer_provider.add_span_processor(self.processor)
            self.sampler = self.tracer_provider.sampler
            self.tracer = self.tracer_provider.get_tracer("vyr.telemetry")
        if self.settings.export_metrics:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            reader = PeriodicExportingMetricReader(metric_exporter or _otlp_metric_exporter())
            self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
            self.meter = self.meter_provider.get_meter("vyr.telemetry")

    @classmethod
    def default(cls) -> Telemetry:
        """The process-wide instance from the environment, made once, flushed at exit, and
        registered as the global providers unless the application set its own."""
        global _DEFAULT
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = cls()
                if _DEFAULT.tracer_provider is not None:
                    trace.set_tracer_provider(_DEFAULT.tracer_provider)
                if _DEFAULT.meter_provider is not None:
                    from opentelemetry import metrics

                    metrics.set_meter_provider(_DEFAULT.meter_provider)
                atexit.register(_DEFAULT.shutdown)
            return _DEFAULT

    def span_counters(self) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        """Exported/dropped span counters for the metrics."""
        return self.processor.counters() if self.processor is not None else []

    def flush(self, timeout_s: float = 10.0) -> None:
        """Sends what is queued now (spans, then a metric collection)."""
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush(int(timeout_s * 1000))
        if self.meter_provider is not None:
            self.meter_provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Flushes and stops the exporters (idempotent)."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
            self.tracer_provider = None
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
            self.meter_provider = None


def _otlp_metric_exporter() -> Any:
    if protocol("metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

    return HttpMetricExporter()
