"""The SDK metric reader's exporter over a `links.Link`: the SDK's OTLP encoding, one bounded
attempt per collection, one log line per outage. Metrics are cumulative, so a collection that
could not be sent needs no spool: the next one after the outage carries the totals."""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from vyr import _exit

CONSEQUENCE = "metrics are sent in full again once it answers (they are cumulative)"


class LinkMetricExporter(MetricExporter):
    """Exports each collection through `link`; temporality and histogram aggregation are the
    ones the SDK's OTLP exporter resolved from OTEL_EXPORTER_OTLP_METRICS_* (the link's)."""

    def __init__(self, link: Any) -> None:
        sdk_exporter = link.exporter
        super().__init__(
            preferred_temporality=sdk_exporter._preferred_temporality,
            preferred_aggregation=sdk_exporter._preferred_aggregation,
        )
        self._link = link

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """One attempt within `timeout_millis` (and what is left of the exit budget)."""
        timeout_s = _exit.remaining(timeout_millis / 1000)
        if timeout_s <= 0:
            return MetricExportResult.FAILURE
        sent = self._link.send(encode_metrics(metrics_data), timeout_s, CONSEQUENCE)
        return MetricExportResult.SUCCESS if sent else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered here."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Closes the link."""
        self._link.close()
