"""Shared fixtures: a node in a temp home with one trusted key, the built guests, and the
daemons a test started (killed afterwards)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.daemon import Daemon
from harness.guests import REFERENCE_GUESTS, ensure_built


@pytest.fixture(scope="session")
def guests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference guests (.wasm), built once if `make` has not built them."""
    build = ensure_built(REFERENCE_GUESTS)
    # Sign copies, so tests never write next to the shared build outputs.
    target = tmp_path_factory.mktemp("guests")
    for name in REFERENCE_GUESTS:
        shutil.copy(build / f"{name}.wasm", target / f"{name}.wasm")
    return target


@pytest.fixture()
def key(tmp_path: Path) -> Path:
    """A fresh private key file (its public key is KEY.pub)."""
    from vyr.keys import generate_key

    private, _ = generate_key(tmp_path / "author.key")
    return private


@pytest.fixture()
def node(tmp_path: Path, key: Path) -> Iterator[object]:
    """An embedded runtime in a temp home that trusts `key`, with a short state linger."""
    from vyr.runtime import Runtime

    runtime = Runtime(tmp_path / "home", state_linger_s=0.2, state_dir=str(tmp_path / "states"))
    runtime.trust_add(Path(f"{key}.pub").read_text())
    yield runtime
    runtime.close()


@pytest.fixture()
def put_guest(node: object, key: Path, guests: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """put_guest(name) -> digest: signs a copy of a reference guest and puts it."""
    from vyr.keys import sign_module

    def put(name: str) -> str:
        module = tmp_path / f"{name}.wasm"
        if not module.exists():
            shutil.copy(guests / f"{name}.wasm", module)
            sign_module(module, key)
        return node.put_module_file(module).digest  # type: ignore[attr-defined]

    return put


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Collects daemons started by a test and kills any still running afterwards."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
