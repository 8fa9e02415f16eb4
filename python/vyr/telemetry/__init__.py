"""Observation: task spans from the core's phase clock, metrics, OTLP export and the streams.

    config.py    settings from OTEL_* / VYR_* (light: imported by `vyr.Runtime`)
    records.py   a task's spans as plain records          hub.py      history + subscribers
    metrics.py   aggregates (+ OpenTelemetry instruments)   streams.py  filters, iteration
    pipeline.py  `Telemetry`: SDK wiring                   export.py   counting batch export
    spool.py     on-disk spool for outages                 otlp.py     records -> OTLP request
    observer.py  the Runtime's hook and the telemetry thread
    links.py     one bounded OTLP attempt per request     metric_export.py  metrics over a link
    console.py   OTEL_TRACES_EXPORTER=console              rpc.py      Control API server spans
    propagation.py  W3C traceparent from gRPC metadata

Importing this package is cheap; OpenTelemetry loads only when telemetry is switched on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vyr.telemetry.observer import TaskObserver
    from vyr.telemetry.pipeline import Telemetry
    from vyr.types import Artifact


def observe(
    list_artifacts: Callable[[], list[Artifact]],
    telemetry: Telemetry | bool | None,
    streams: bool,
    task_counts: Callable[[], tuple[int, int]],
) -> TaskObserver:
    """A `TaskObserver` exporting through `telemetry` (a `Telemetry`, or the process-wide one
    from the environment when export is configured there)."""
    from vyr.telemetry.config import export_configured
    from vyr.telemetry.observer import TaskObserver
    from vyr.telemetry.pipeline import Telemetry

    exporter: Any = (
        telemetry
        if isinstance(telemetry, Telemetry)
        else (Telemetry.default() if export_configured() else None)
    )
    return TaskObserver(list_artifacts, exporter, streams=streams, task_counts=task_counts)


def server_interceptors(observer: TaskObserver) -> list[Any]:
    """The daemon's RPC span interceptor when `observer` exports traces, else nothing (then no
    call pays for it, and OpenTelemetry is not even imported here)."""
    telemetry = observer.telemetry
    if telemetry is None or telemetry.processor is None:
        return []
    from vyr.telemetry.rpc import RpcSpans

    return [RpcSpans(telemetry.processor, telemetry.sampler)]
