"""Fixtures for the telemetry tests: OTLP receivers, signed guests, daemons with OTEL_* set."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from daemon_harness import BUILD, Daemon, Signed
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
    from vyr.keys import generate_key, sign_module

    directory = tmp_path_factory.mktemp("telemetry-guests")
    key, public = generate_key(directory / "dev.key")
    source = BUILD / "hello.wasm"
    if not source.exists():
        pytest.skip(f"{source} is not built (make workloads/build/.stamp)")
    shutil.copy(source, directory / source.name)
    sign_module(directory / source.name, key)
    return Signed(directory, key, public.read_text())


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test started; killed afterwards if still running."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
