"""The node's metrics: plain in-process aggregates (what `stream_metrics` reads), mirrored into
OpenTelemetry instruments when metric export is configured.

Counters and up-down counters are exported as observable instruments that read the aggregates
at collection time, so a task end updates each number once; histograms record into both.

Names follow the OpenTelemetry naming conventions: singular namespaces (`vyr.task.*`), up-down
counters named for the state they count (`vyr.task.queued`, as `otel.sdk.span.live`), units in
UCUM (`s`, `By`, `{task}`), no `total`. Histograms carry bucket boundaries that fit their unit
(`explicit_bucket_boundaries_advisory`): the SDK's default ones (0 to 10,000) would put every
duration in seconds in its (0, 5] bucket and every peak memory in bytes in the overflow bucket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vyr.types import TaskResult

Attributes = tuple[tuple[str, str], ...]

# Bucket boundaries: durations from a microsecond to ten minutes (1-2.5-5 steps), memory from
# 1 KiB to 4 GiB (wasm32's ceiling; doubling from the 64 KiB page up), fuel in decades.
SECONDS_BUCKETS = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
BYTES_BUCKETS = (1024.0, 4096.0, 16384.0, *(float(1 << exponent) for exponent in range(16, 33)))
FUEL_BUCKETS = tuple(float(10**exponent) for exponent in range(2, 13))

# name -> (unit, description)
COUNTERS = {
    "vyr.task.submitted": ("{task}", "Tasks accepted by submit."),
    "vyr.task.finished": ("{task}", "Tasks ended, by vyr.task.status."),
    "vyr.task.refused": (
        "{task}",
        "Submits refused at once (unknown artifact, node full, ...), by error.type.",
    ),
    "vyr.artifact.verification_failures": (
        "{artifact}",
        "Artifacts refused by verification, by vyr.stage and error.type.",
    ),
    "vyr.compile_cache.hits": ("{load}", "Cold loads served from the compiled-code cache."),
    "vyr.compile_cache.misses": ("{load}", "Cold loads that compiled the module."),
    "vyr.telemetry.span.exported": ("{span}", "Spans the exporter delivered."),
    "vyr.telemetry.span.dropped": ("{span}", "Spans lost before delivery, by error.type."),
    "vyr.telemetry.stream.dropped": ("{item}", "Stream items slow subscribers did not get."),
}
# name -> (unit, description, bucket boundaries)
HISTOGRAMS = {
    "vyr.task.duration": ("s", "Queued to ended.", SECONDS_BUCKETS),
    "vyr.task.queue_wait": (
        "s",
        "Artifact ready to scheduled: waiting for a run slot and state turn.",
        SECONDS_BUCKETS,
    ),
    "vyr.task.start_latency": (
        "s",
        "Queued to the guest's _start, by vyr.task.cold.",
        SECONDS_BUCKETS,
    ),
    "vyr.task.peak_memory": ("By", "Peak linear memory per task.", BYTES_BUCKETS),
    "vyr.task.fuel_used": ("{instruction}", "Fuel consumed per task.", FUEL_BUCKETS),
}
UP_DOWN = {
    "vyr.task.queued": ("{task}", "Tasks accepted and not yet running."),
    "vyr.task.running": ("{task}", "Tasks running now."),
}


@dataclass(frozen=True)
class MetricPoint:
    """One series' current value; histograms also carry count/sum/min/max (value = sum)."""

    name: str
    kind: str  # counter | histogram | updowncounter
    value: float
    attributes: dict[str, str] = field(default_factory=dict)
    count: int = 0
    sum: float = 0.0
    min: float = 0.0
    max: float = 0.0
    unix_nanos: int = 0
    cursor: int = 0  # the metric history position of the snapshot this point belongs to

    def to_json(self) -> dict[str, Any]:
        """The JSON line `vyr metrics --json` prints."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "value": self.value,
            "attributes": self.attributes,
            "time_unix_nano": self.unix_nanos,
            "cursor": self.cursor,
        }
        if self.kind == "histogram":
            data.update(count=self.count, sum=self.sum, min=self.min, max=self.max)
        return data


def _seconds(start: int, end: int) -> float | None:
    return (end - start) / 1e9 if start and end and end >= start else None


class MetricsRecorder:
    """Aggregates for one node. `in_flight()` returns (queued, running) at collection time;
    `extra()` yields (name, attributes, value) counters kept elsewhere (the exporter's)."""

    def __init__(
        self,
        in_flight: Callable[[], tuple[int, int]],
        extra: Callable[[], Iterable[tuple[str, Attributes, float]]] = lambda: (),
    ) -> None:
        self._lock = threading.Lock()
        # Unlabelled counters start at 0 so every name shows up before its first event.
        self._counters: dict[tuple[str, Attributes], float] = {
            (name, ()): 0
            for name in (
                "vyr.task.submitted",
                "vyr.compile_cache.hits",
                "vyr.compile_cache.misses",
            )
        }
        self._histograms: dict[tuple[str, Attributes], list[float]] = {}
        self._in_flight = in_flight
        self._extra = extra
        self._otel_histograms: dict[str, Any] = {}

    # -- recording ---------------------------------------------------------------------------
    def add(self, name: str, value: float = 1, attributes: Attributes = ()) -> None:
        """Adds to a counter."""
        with self._lock:
            key = (name, attributes)
            self._counters[key] = self._counters.get(key, 0) + value

    def record(self, name: str, value: float, attributes: Attributes = ()) -> None:
        """Records one histogram measurement."""
        with self._lock:
            key = (name, attributes)
            entry = self._histograms.get(key)
            if entry is None:
                self._histograms[key] = [1, value, value, value]
            else:
                entry[0] += 1
                entry[1] += value
                entry[2] = min(entry[2], value)
                entry[3] = max(entry[3], value)
        instrument = self._otel_histograms.get(name)
        if instrument is not None:
            instrument.record(value, dict(attributes))

    def task_ended(self, result: TaskResult) -> None:
        """Everything one ended task contributes."""
        phases, usage = result.phases, result.usage
        self.add("vyr.task.finished", 1, (("vyr.task.status", result.status),))
        if usage.cold and phases.artifact_ready:
            self.add("vyr.compile_cache.misses" if usage.compiled else "vyr.compile_cache.hits")
        if result.status == "rejected" and not phases.artifact_ready:
            self.add(
                "vyr.artifact.verification_failures",
                1,
                (("error.type", "load_failed"), ("vyr.stage", "load")),
            )
        queued, ended = phases.queued, phases.ended
        for name, value, attributes in (
            ("vyr.task.duration", _seconds(queued, ended), ()),
            (
                "vyr.task.queue_wait",
                _seconds(phases.artifact_ready, phases.scheduled),
                (),
            ),
            (
                "vyr.task.start_latency",
                _seconds(queued, phases.started),
                (("vyr.task.cold", str(bool(usage.cold)).lower()),),
            ),
        ):
            if value is not None:
                self.record(name, value, attributes)
        if phases.started:
            self.record("vyr.task.peak_memory", float(usage.peak_memory_bytes or 0))
            self.record("vyr.task.fuel_used", float(usage.fuel_used or 0))

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> list[MetricPoint]:
        """Every series now, sorted by name."""
        now = time.time_ns()
        with self._lock:
            counters = dict(self._counters)
            histograms = {key: list(value) for key, value in self._histograms.items()}
        for name, attributes, value in self._extra():
            counters[(name, attributes)] = counters.get((name, attributes), 0) + value
        points = [
            MetricPoint(n, "counter", v, dict(a), unix_nanos=now) for (n, a), v in counters.items()
        ]
        for (name, attributes), (count, total, low, high) in histograms.items():
            points.append(
                MetricPoint(
                    name, "histogram", total, dict(attributes), int(count), total, low, high, now
                )
            )
        queued, running = self._in_flight()
        points.append(MetricPoint("vyr.task.queued", "updowncounter", queued, unix_nanos=now))
        points.append(MetricPoint("vyr.task.running", "updowncounter", running, unix_nanos=now))
        return sorted(points, key=lambda p: (p.name, sorted(p.attributes.items())))

    def bind_meter(self, meter: Any) -> None:
        """Creates the OpenTelemetry instruments (observable ones read `snapshot`'s sources)."""
        from opentelemetry.metrics import Observation

        def counter_callback(name: str) -> Callable[[Any], list[Any]]:
            def observe(_options: Any) -> list[Any]:
                points = [p for p in self.snapshot() if p.name == name]
                return [Observation(p.value, p.attributes) for p in points]

            return observe

        for name, (unit, description) in COUNTERS.items():
            meter.create_observable_counter(
                name, [counter_callback(name)], unit=unit, description=description
            )
        for name, (unit, description) in UP_DOWN.items():
            meter.create_observable_up_down_counter(
                name, [counter_callback(name)], unit=unit, description=description
            )
        for name, (unit, description, boundaries) in HISTOGRAMS.items():
            self._otel_histograms[name] = meter.create_histogram(
                name,
                unit=unit,
                description=description,
                explicit_bucket_boundaries_advisory=boundaries,
            )
