"""`Telemetry`: the OpenTelemetry SDK wired once from the environment (resource, sampler,
attribute limits, the span processor in front of the OTLP link and/or the console, metric
readers). The observer uses what it hands out (`sampler`, `processor`, `meter`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from vyr import _exit
from vyr.telemetry.config import Settings

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

    `sampler` overrides `OTEL_TRACES_SAMPLER`; `link` (an object with `links.Link`'s `send`,
    `close` and `timeout_s`) and `metric_exporter` override the OTLP ones (tests, benchmarks).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sampler: Any = None,
        link: Any = None,
        metric_exporter: Any = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.processor: Any = None
        self.sampler: Any = None
        self.meter: Any = None
        self.resource: Any = None
        if self.settings.export_traces or self.settings.export_metrics:
            self.resource = _resource()
        if self.settings.export_traces:
            self._wire_traces(sampler, link)
        if self.settings.export_metrics:
            self._wire_metrics(metric_exporter)

    def _wire_traces(self, sampler: Any, link: Any) -> None:
        from opentelemetry.sdk.trace import TracerProvider

        from vyr.telemetry.otlp import AttributeLimits

        limits = AttributeLimits.from_env()
        # The provider resolves OTEL_TRACES_SAMPLER and carries the resource; spans do not go
        # through it (the processor encodes span records itself: see otlp.py). Its exit hook is
        # off: `vyr._exit` closes everything in order, within the exit budget.
        self.tracer_provider = TracerProvider(
            resource=self.resource, sampler=sampler, shutdown_on_exit=False
        )
        self.sampler = self.tracer_provider.sampler
        processors: list[Any] = []
        if "otlp" in self.settings.trace_exporters:
            from vyr.telemetry.export import CountingBatchProcessor
            from vyr.telemetry.links import open_link
            from vyr.telemetry.otlp import resource_to_proto
            from vyr.telemetry.spool import Spool

            spool = (
                Spool(self.settings.spool_dir, self.settings.spool_max_bytes)
                if self.settings.spool_dir
                else None
            )
            processors.append(
                CountingBatchProcessor(
                    link or open_link("traces"),
                    resource_to_proto(self.resource.attributes),
                    spool,
                    limits,
                )
            )
        if "console" in self.settings.trace_exporters:
            from vyr.telemetry.console import ConsoleSpanWriter

            processors.append(ConsoleSpanWriter(self.resource, limits))
        if len(processors) == 1:
            self.processor = processors[0]
        else:
            from vyr.telemetry.console import Fanout

            self.processor = Fanout(processors)

    def _wire_metrics(self, metric_exporter: Any) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter,
            PeriodicExportingMetricReader,
        )

        from vyr.telemetry.otlp import SCHEMA_URL, SCOPE_NAME

        exporters = []
        if metric_exporter is not None:
            exporters.append(metric_exporter)
        elif "otlp" in self.settings.metric_exporters:
            from vyr.telemetry.links import open_link
            from vyr.telemetry.metric_export import LinkMetricExporter

            exporters.append(LinkMetricExporter(open_link("metrics")))
        if "console" in self.settings.metric_exporters:
            exporters.append(ConsoleMetricExporter(out=sys.stderr))
        readers = [PeriodicExportingMetricReader(exporter) for exporter in exporters]
        self.meter_provider = MeterProvider(
            resource=self.resource, metric_readers=readers, shutdown_on_exit=False
        )
        import vyr

        self.meter = self.meter_provider.get_meter(
            SCOPE_NAME, vyr.__version__, schema_url=SCHEMA_URL
        )

    @classmethod
    def default(cls) -> Telemetry:
        """The process-wide instance from the environment, made once, shut down at exit; its
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
                _exit.close_at_exit(_DEFAULT, _exit.PIPELINES)
            return _DEFAULT

    def span_counters(self) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        """Exported/dropped span counters for the metrics."""
        return self.processor.counters() if self.processor is not None else []

    def flush(self, timeout_s: float = 10.0) -> None:
        """Sends what is queued now (spans, then a metric collection), within `timeout_s`."""
        deadline = time.monotonic() + _exit.remaining(timeout_s)
        if self.processor is not None:
            self.processor.force_flush(int(timeout_s * 1000))
        if self.meter_provider is not None:
            left = max(0.0, deadline - time.monotonic())
            self.meter_provider.force_flush(int(left * 1000))

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Sends what is queued and stops the exporters, within `timeout_s` (less while the
        process exits); idempotent."""
        deadline = time.monotonic() + _exit.remaining(timeout_s)
        if self.processor is not None:
            self.processor.shutdown(timeout_s)
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
            self.tracer_provider = None
        if self.meter_provider is not None:
            left = max(0.0, deadline - time.monotonic())
            self.meter_provider.shutdown(timeout_millis=left * 1000)
            self.meter_provider = None

    def close(self) -> None:
        """`shutdown()` (what the exit sequence calls)."""
        self.shutdown()
