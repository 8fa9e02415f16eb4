"""Fixtures for the integration tests: signed reference guests, and a real `vyr daemon`
started as a subprocess on a temp home, stopped (SIGTERM, then SIGKILL) after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed, sign_guests


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("guests"), ("hello", "collector", "anomaly"))


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
