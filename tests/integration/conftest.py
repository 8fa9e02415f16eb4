"""Fixtures for the integration tests: signed reference guests, and a real `vyr daemon`
started as a subprocess on a temp home, stopped (SIGTERM, then SIGKILL) after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import Daemon, Signed, sign_guests, start_daemon


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("guests"), ("hello", "collector", "anomaly"))


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Collects daemons started by a test and kills any still running afterwards."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


@pytest.fixture
def daemon(tmp_path: Path, daemons: list[Daemon]) -> Daemon:
    """A daemon on `<tmp>/home/vyr.sock` (the default listener)."""
    started = start_daemon(tmp_path / "home")
    daemons.append(started)
    return started


@pytest.fixture
def client(daemon: Daemon, signed: Signed) -> Iterator[object]:
    """A `vyr.Client` to `daemon`, whose node trusts the test key."""
    from vyr.client import Client

    with Client(daemon.endpoint) as connected:
        connected.trust_add(signed.public_key)
        yield connected
