"""Fixtures for the telemetry tests: OTLP receivers, signed guests, daemons with OTEL_* set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.guests import Signed, sign_guests
from harness.otlp import GrpcReceiver, HttpReceiver


@pytest.fixture
def receiver() -> Iterator[GrpcReceiver]:
    """An OTLP/gRPC receiver on a free port."""
    started = GrpcReceiver().start()
    yield started
    started.stop()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """An OTLP/HTTP receiver on a free port."""
    started = HttpReceiver().start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    """hello.wasm signed by a fresh key."""
    return sign_guests(tmp_path_factory.mktemp("telemetry-guests"), ("hello",))
