"""Fixtures for the telemetry tests: OTLP receivers, signed guests, daemons with OTEL_* set."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from daemon_harness import Daemon, Signed, sign_guests
from receiver import GrpcReceiver, HttpReceiver


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


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test started; killed afterwards if still running."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
