"""Fixtures for the CLI tests (helpers in cli_harness.py): each test gets a fresh HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import Daemon, Shell, make_shell


@pytest.fixture()
def shell(tmp_path: Path) -> Shell:
    """A fresh HOME and scratch clone (see `make_shell`)."""
    return make_shell(tmp_path)


@pytest.fixture()
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test started; killed afterwards if still running."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
