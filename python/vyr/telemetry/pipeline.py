"""`Telemetry`: the OpenTelemetry SDK wired once from the environment (resource, sampler,
the span batch processor in front of the OTLP exporter, metric reader). The observer uses what
it hands out (`sampler`, `processor`, `meter`).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from vyr.telemetry.config import Settings, protocol

_DEFAULT: Telemetry | None = None
_DEFAULT_LOCK = threading.Lock()


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
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.processor: Any = None
        self.sampler: Any = None
        self.meter: Any = None
        resource = (
            _resource() if (self.settings.export_traces or self.settings.export_metrics) else None
        )
        if self.settings.export_traces:
            from opentelemetry.sdk.trace import TracerProvider

            from vyr.telemetry.export import CountingBatchProcessor, otlp_sender
            from vyr.telemetry.otlp import resource_to_proto
            from vyr.telemetry.spool import Spool

            spool = (
                Spool(self.settings.spool_dir, self.settings.spool_max_bytes)
                if self.settings.spool_dir
                else None
            )
            # The provider resolves OTEL_TRACES_SAMPLER and carries the resource; spans do not
            # go through it (the processor encodes span records itself: see otlp.py).
            self.tracer_provider = TracerProvider(resource=resource, sampler=sampler)
            self.processor = CountingBatchProcessor(
                send or otlp_sender(), resource_to_proto(resource.attributes), spool
            )
            self.sampler = self.tracer_provider.sampler
        if self.settings.export_metrics:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            reader = PeriodicExportingMetricReader(metric_exporter or _otlp_metric_exporter())
            self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
            self.meter = self.meter_provider.get_meter("vyr.telemetry")

    @classmethod
    def default(cls) -> Telemetry:
        """The process-wide instance from the environment, made once, flushed at exit; its
        meter provider becomes the global one unless the application set its own. (Its tracer
        provider does not: VYR exports its span records itself, so spans an application made
        through that provider would go nowhere. Applications bring their own.)"""
        global _DEFAULT
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = cls()
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
        if self.processor is not None:
            self.processor.force_flush(int(timeout_s * 1000))
        if self.meter_provider is not None:
            self.meter_provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Flushes and stops the exporters (idempotent)."""
        if self.processor is not None:
            self.processor.shutdown()
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
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter()
