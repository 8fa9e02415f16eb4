"""A task's spans as plain records, built from the core's phase clock (no OpenTelemetry here).

The same records feed the streams (`stream_traces`) and, for sampled tasks, the OTLP export
(`otlp.py` encodes them as OTLP with their explicit times).

    vyr.submit (internal)      submit call .. result delivered (its parent: the caller's span,
                               or the Control API call's server span on the daemon)
      vyr.artifact.load        queued .. artifact ready (verify + compile, or the cached module)
      vyr.instantiate          scheduled (run slot and state turn granted) .. instantiated;
                               the wait before it is the attribute vyr.task.queue_wait_ns
      vyr.execute              started .. ended (the guest runs)
      vyr.complete             ended .. the end was delivered to Python
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from vyr.types import TaskResult

ROOT = "vyr.submit"
SPAN_NAMES = (ROOT, "vyr.artifact.load", "vyr.instantiate", "vyr.execute", "vyr.complete")
AttributeValue = str | int | float | bool


@dataclass(slots=True)
class SpanRecord:
    """One span: ids as lowercase hex (trace 32, span 16; parent "" for a root)."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    kind: str = "internal"
    status: str = "unset"  # unset | ok | error
    status_message: str = ""
    task_id: str = ""
    cursor: int = 0  # the trace history position of this span's task (resume after it)
    parent_remote: bool = False  # the parent span is another process's (W3C traceparent)

    def to_json(self) -> dict[str, Any]:
        """The JSON line `vyr traces --json` prints."""
        return {
            "name": self.name,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "start_time_unix_nano": self.start_time_unix_nano,
            "end_time_unix_nano": self.end_time_unix_nano,
            "kind": self.kind,
            "status": self.status,
            "status_message": self.status_message,
            "attributes": dict(self.attributes),
            "task_id": self.task_id,
            "cursor": self.cursor,
        }


@dataclass(slots=True)
class TraceContext:
    """What the submit decided: the trace, the caller's span (if any), whether it is exported."""

    submit_ns: int
    trace_id: str = ""
    parent_span_id: str = ""
    sampled: bool = False
    trace_state: str = ""  # the caller's W3C tracestate, carried on by the exported spans
    parent_remote: bool = False  # the parent span came from another process
    delivered_ns: int = 0  # set by the end callback


@dataclass(slots=True)
class TaskTrace:
    """What the trace history keeps per ended task."""

    task_id: str
    artifact: str
    status: str
    spans: list[SpanRecord]


def _error_type(result: TaskResult) -> str:
    if result.trap_code:
        return result.trap_code
    return "exit_code" if result.status == "failed" else result.status


def verification(result: TaskResult) -> str:
    """`verified` (checked on this load), `cached` (already verified in memory), `failed`."""
    if not result.phases.artifact_ready:
        return "failed" if result.status == "rejected" else "not_loaded"
    return "verified" if result.usage.cold else "cached"


def task_attributes(result: TaskResult, signer: str) -> dict[str, AttributeValue]:
    """The root span's attributes (OpenTelemetry conventions where one fits, else `vyr.*`)."""
    usage, granted = result.usage, result.granted
    attributes: dict[str, AttributeValue] = {
        "vyr.task.id": result.id,
        "vyr.artifact.digest": result.artifact,
        "vyr.artifact.verification": verification(result),
        "vyr.task.status": result.status,
        "vyr.task.reason": result.reason,
        "vyr.usage.wall_ns": int(usage.wall_ns or 0),
        "vyr.usage.peak_memory_bytes": int(usage.peak_memory_bytes or 0),
        "vyr.usage.fuel_used": int(usage.fuel_used or 0),
        "vyr.task.cold": bool(usage.cold),
    }
    # Provenance (issue 12): which signed code ran on which input. `artifact.hash` is the
    # OpenTelemetry artifact convention's attribute (the full hash, hex); the input has none.
    if result.artifact.startswith("sha256:"):
        attributes["artifact.hash"] = result.artifact.removeprefix("sha256:")
    if result.input_digest:
        attributes["vyr.input.digest"] = result.input_digest
    if signer:
        attributes["vyr.artifact.signer"] = signer
    for name in ("memory_bytes", "timeout_ms", "fuel"):
        if getattr(granted, name) is not None:
            attributes[f"vyr.granted.{name}"] = int(getattr(granted, name))
    if result.exit_code is not None:
        attributes["vyr.task.exit_code"] = result.exit_code
    if result.trap_code:
        attributes["vyr.task.trap_code"] = result.trap_code
    if result.status != "succeeded":
        attributes["error.type"] = _error_type(result)
    # Each bound state, by binding order: which content the task saw and, for a writer, left
    # (vyrTreeV1 digests), so a trace says which data a run read and wrote.
    for index, bound in enumerate(result.bindings):
        prefix = f"vyr.state.{index}"
        attributes[f"{prefix}.name"] = bound.name
        attributes[f"{prefix}.mode"] = bound.mode
        attributes[f"{prefix}.path"] = bound.path
        if bound.before:
            attributes[f"{prefix}.digest_before"] = bound.before
        if bound.after:
            attributes[f"{prefix}.digest_after"] = bound.after
    return attributes


def _derived_id(task_id: str, label: str, hex_digits: int) -> str:
    return hashlib.sha256(f"{task_id}/{label}".encode()).hexdigest()[:hex_digits]


def build_task_spans(
    result: TaskResult, context: TraceContext, signer: str = ""
) -> list[SpanRecord]:
    """The task's spans, root first. Ids: the submit's trace (or one derived from the task id)."""
    phases = result.phases
    queued = phases.queued or context.submit_ns
    ready, instantiated = phases.artifact_ready or 0, phases.instantiated or 0
    started, ended = phases.started or 0, phases.ended or queued
    delivered = max(context.delivered_ns, ended)
    trace_id = context.trace_id or _derived_id(result.id, "trace", 32)
    root_id = _derived_id(result.id, ROOT, 16)
    failed = result.status != "succeeded"
    error_type = _error_type(result) if failed else ""

    root = SpanRecord(
        ROOT,
        trace_id,
        root_id,
        context.parent_span_id,
        min(context.submit_ns or queued, queued),
        delivered,
        task_attributes(result, signer),
        status="error" if failed else "ok",
        status_message=result.reason if failed else "",
        task_id=result.id,
        parent_remote=context.parent_remote,
    )
    spans = [root]

    def child(
        name: str, start: int, end: int, attributes: dict[str, AttributeValue], error: bool = False
    ) -> None:
        record = SpanRecord(
            name,
            trace_id,
            _derived_id(result.id, name, 16),
            root_id,
            start,
            max(start, end),
            attributes,
            task_id=result.id,
        )
        if error:
            record.status, record.status_message = "error", result.reason
            record.attributes["error.type"] = error_type
        spans.append(record)

    load: dict[str, AttributeValue] = {
        "vyr.artifact.digest": result.artifact,
        "vyr.artifact.cache": "miss" if result.usage.cold else "hit",
        "vyr.artifact.compiled": bool(result.usage.compiled),
        "vyr.artifact.verification": verification(result),
    }
    child("vyr.artifact.load", queued, ready or ended, load, error=not ready and failed)
    if ready:
        scheduled = phases.scheduled or ready
        waited: dict[str, AttributeValue] = {"vyr.task.queue_wait_ns": max(0, scheduled - ready)}
        child(
            "vyr.instantiate",
            scheduled,
            instantiated or ended,
            waited,
            error=not instantiated and failed,
        )
    if started:
        execute: dict[str, AttributeValue] = {
            "vyr.usage.peak_memory_bytes": int(result.usage.peak_memory_bytes or 0),
            "vyr.usage.fuel_used": int(result.usage.fuel_used or 0),
        }
        if result.usage.tier:
            execute["vyr.code.tier"] = str(result.usage.tier)  # baseline (Winch) or optimized
        child("vyr.execute", started, ended, execute, error=failed)
    complete: dict[str, AttributeValue] = {"vyr.task.status": result.status}
    if result.exit_code is not None:
        complete["vyr.task.exit_code"] = result.exit_code
    child("vyr.complete", ended, delivered, complete)
    return spans
