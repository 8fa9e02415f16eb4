"""Fixtures for the hostile suite (issue 13): the hostile guests built once per session, signed
copies of them on the node of tests/conftest.py, and daemons from the integration harness."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.daemon import Daemon
from hostile.guests import build_all


@pytest.fixture(scope="session")
def hostile_guests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> unsigned module: traps, an endless loop, a state filler, an externref module."""
    return build_all(tmp_path_factory.mktemp("hostile-guests"))


@pytest.fixture
def sign_copy(key: Path, tmp_path: Path) -> Callable[[Path], Path]:
    """sign_copy(module) -> a signed copy (by `key`, which `node` trusts) in the test's tmp."""
    from vyr.keys import sign_module

    def sign(module: Path) -> Path:
        copy = tmp_path / "signed" / module.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(module, copy)
        sign_module(copy, key)
        return copy

    return sign


@pytest.fixture
def put_hostile(
    node: object, hostile_guests: dict[str, Path], sign_copy: Callable[[Path], Path]
) -> Callable[[str], str]:
    """put_hostile(name) -> digest of that hostile guest, signed and put on `node`."""

    def put(name: str) -> str:
        return node.put_module_file(sign_copy(hostile_guests[name])).digest  # type: ignore[attr-defined]

    return put


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Collects daemons a test starts and kills any still running afterwards."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
