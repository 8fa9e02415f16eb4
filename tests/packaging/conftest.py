"""Fixtures for the packaging tests: pyproject.toml as parsed, and scripts/install_deps.py as a
module (scripts/ is not a package: it is loaded from its file, as test_protos_current does)."""

from __future__ import annotations

import importlib.util
import tomllib
from types import ModuleType
from typing import Any

import pytest

from harness import REPO


@pytest.fixture(scope="session")
def pyproject() -> dict[str, Any]:
    """The repository's pyproject.toml."""
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


@pytest.fixture(scope="session")
def install_deps() -> ModuleType:
    """scripts/install_deps.py, imported."""
    spec = importlib.util.spec_from_file_location(
        "install_deps", REPO / "scripts" / "install_deps.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
