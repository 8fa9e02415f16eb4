"""W3C trace context across the Control API: the client injects the caller's current span into
the call's metadata (`traceparent`), the daemon makes it the parent of the task's root span."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any


def outgoing_metadata() -> list[tuple[str, str]] | None:
    """`traceparent` (and friends) for the caller's current span; None when the process does
    not use OpenTelemetry (nothing imported it) or no span is current."""
    if "opentelemetry.context" not in sys.modules:
        return None
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items()) or None


def attach_incoming(metadata: Iterable[tuple[str, Any]] | None) -> object | None:
    """Makes the caller's trace context (from gRPC metadata) current; returns the token for
    `detach`, or None when the call carried no `traceparent` or the call already has its own
    server span (`telemetry/rpc.py`), which is then the parent and itself the caller's child."""
    carrier = {key: value for key, value in (metadata or ()) if isinstance(value, str)}
    if "traceparent" not in carrier:
        return None
    from opentelemetry import context, propagate, trace

    current = trace.get_current_span().get_span_context()
    if current.is_valid and not current.is_remote:
        return None

    return context.attach(propagate.extract(carrier))


def detach(token: object | None) -> None:
    """Undoes `attach_incoming`."""
    if token is not None:
        from opentelemetry import context

        context.detach(token)  # type: ignore[arg-type]
