"""Guests for tests, benchmarks and environments: the reference guests `workloads/build.py`
builds into `workloads/build/` (built here when missing), one-file guests compiled with the same
toolchain and flags, and signed copies of them with a fresh key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import REPO

BUILD = REPO / "workloads" / "build"
REFERENCE_GUESTS = ("hello", "event-transform", "collector", "anomaly", "state-file", "textstats")


def ensure_built(names: Sequence[str] = REFERENCE_GUESTS, *, native: bool = False) -> Path:
    """`workloads/build/`, after running `workloads/build.py` if a `.wasm` of `names` (or, with
    `native`, a `.native`) is missing there."""
    suffixes = ("wasm", "native") if native else ("wasm",)
    if not all((BUILD / f"{name}.{suffix}").is_file() for name in names for suffix in suffixes):
        subprocess.run([sys.executable, str(REPO / "workloads" / "build.py")], check=True)
    return BUILD


def compile_guest(source: Path, output: Path) -> Path:
    """Compiles one C file into a WASI command at `output`, as the reference guests are."""
    from workloads.build import compile_c, zig_cc

    return compile_c(zig_cc(), source.parent, [source.name], "wasm", output.resolve())


@dataclass(frozen=True)
class Signed:
    """A directory of signed guests (NAME.wasm, NAME.wasm.manifest.json, NAME.wasm.sig) and the
    key that signed them."""

    directory: Path
    key: Path
    public_key: str

    def module(self, name: str) -> Path:
        """The signed module of guest `name`."""
        return self.directory / f"{name}.wasm"

    @property
    def public_key_file(self) -> Path:
        """Where the public key is (KEY.pub)."""
        return self.key.with_name(self.key.name + ".pub")


def sign_guests(
    directory: Path,
    names: Sequence[str],
    *,
    key_name: str = "dev.key",
    native: bool = False,
    sources: Mapping[str, Path] | None = None,
) -> Signed:
    """Copies the built reference guests `names` into `directory` (with their `.native` builds
    too, with `native`), compiles the guests that `sources` maps to a C file instead, and signs
    every `.wasm` with a fresh key `directory/KEY_NAME`."""
    from vyr.keys import generate_key, sign_module

    compiled = dict(sources or {})
    ensure_built([name for name in names if name not in compiled], native=native)
    directory.mkdir(parents=True, exist_ok=True)
    key, public = generate_key(directory / key_name)
    for name in names:
        module = directory / f"{name}.wasm"
        if name in compiled:
            compile_guest(compiled[name], module)
        else:
            shutil.copy(BUILD / module.name, module)
            if native:
                shutil.copy(BUILD / f"{name}.native", directory / f"{name}.native")
        sign_module(module, key)
    return Signed(directory, key, public.read_text())
