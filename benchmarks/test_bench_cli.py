"""`vyr --help` wall time (a fresh process, as a user types it) against `python -c pass`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROUNDS = 20
VYR_BIN = Path(sys.executable).with_name("vyr")


def _spawn(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home of its own, so the command never touches the user's."""
    return {**os.environ, "VYR_HOME": str(tmp_path / "home")}


def test_cli_help(benchmark: Any, env: dict[str, str]) -> None:
    if not VYR_BIN.exists():
        pytest.skip(f"{VYR_BIN} is not installed (make build)")
    benchmark.group = "cli"
    benchmark.pedantic(_spawn, args=([str(VYR_BIN), "--help"], env), rounds=ROUNDS, warmup_rounds=2)
    benchmark.extra_info.update(
        key="cli_help", versus="cli_python", label="vyr --help (subprocess)"
    )


def test_cli_python_baseline(benchmark: Any, env: dict[str, str]) -> None:
    benchmark.group = "cli"
    benchmark.pedantic(
        _spawn, args=([sys.executable, "-c", "pass"], env), rounds=ROUNDS, warmup_rounds=2
    )
    benchmark.extra_info.update(
        key="cli_python", label="python -c pass (interpreter start)", baseline=True
    )
