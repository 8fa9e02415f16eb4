"""Issue 13 item 6: compiled-cache files are integrity-checked before they are loaded.

The cache (`home/cache/compiled/<engine>/<digest>.cwasm`) holds native code that wasmtime loads
as is. A file with a byte flipped, or another artifact's file under this artifact's name, used
to be loaded and run. Fixed: each file is bound to its source digest and engine by a checksum
checked on load; a mismatch discards the file, the task runs the artifact's own code, and the
file is rebuilt.
"""

from __future__ import annotations

import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CACHE_WRITTEN_S = 30.0  # Cranelift compiles in the background after the first (Winch) run
REBUILT_S = 5.0


def _open(home: Path, key: Path) -> Any:
    from vyr.runtime import Runtime

    node = Runtime(home, state_dir=str(home.parent / "states"))
    node.trust_add(Path(f"{key}.pub").read_text())
    return node


def _cache_file(home: Path, digest: str) -> Path:
    (found,) = home.glob(f"cache/compiled/*/{digest.removeprefix('sha256:')}.cwasm")
    return found


def _wait_for(predicate: Callable[[], bool], limit_s: float) -> bool:
    give_up = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


def _cached_node(home: Path, key: Path, modules: dict[str, Path]) -> dict[str, str]:
    """Puts and runs each module once, waits until its optimised code is in the disk cache, and
    closes the node; returns name -> digest."""
    node = _open(home, key)
    digests = {name: node.put_module_file(path).digest for name, path in modules.items()}
    for digest in digests.values():
        node.run(digest, b"warm")
    for digest in digests.values():
        assert _wait_for(
            lambda d=digest: bool(list(home.glob(f"cache/compiled/*/{d[7:]}.cwasm"))),
            CACHE_WRITTEN_S,
        )
    node.close()
    return digests


def _padding_offset(elf: bytes) -> int:
    """An offset in the file that no ELF section covers (alignment padding): flipping it
    changes no code or metadata wasmtime reads, so only a checksum can notice."""
    (section_table,) = struct.unpack_from("<Q", elf, 0x28)
    entry_size, count = struct.unpack_from("<HH", elf, 0x3A)
    covered = [(0, 64), (section_table, section_table + entry_size * count)]
    for index in range(count):
        _, kind, _, _, offset, size = struct.unpack_from(
            "<IIQQQQ", elf, section_table + index * entry_size
        )
        if kind != 8:  # SHT_NOBITS takes no file space
            covered.append((offset, offset + size))
    covered.sort()
    gaps = [
        (end, start)
        for (_, end), (start, _) in zip(covered, covered[1:], strict=False)
        if start - end >= 16
    ]
    low, high = max(gaps, key=lambda gap: gap[1] - gap[0])
    return (low + high) // 2


@pytest.fixture
def signed_modules(guests: Path, key: Path, tmp_path: Path) -> dict[str, Path]:
    from vyr.keys import sign_module

    modules = {}
    for name in ("hello", "state-file"):
        module = tmp_path / "modules" / f"{name}.wasm"
        module.parent.mkdir(exist_ok=True)
        shutil.copy(guests / f"{name}.wasm", module)
        sign_module(module, key)
        modules[name] = module
    return modules


def test_another_artifacts_cache_file_is_not_run(
    tmp_path: Path, key: Path, signed_modules: dict[str, Path]
) -> None:
    home = tmp_path / "home"
    digests = _cached_node(home, key, signed_modules)
    # state-file's name now holds hello's code (valid code, same engine: only a binding to the
    # source digest tells them apart).
    hello_code = _cache_file(home, digests["hello"]).read_bytes()
    _cache_file(home, digests["state-file"]).write_bytes(hello_code)
    node = _open(home, key)
    try:
        result = node.run(digests["state-file"], b"input")
        # state-file's own code: no arguments is a usage error (exit 2); hello's would echo.
        assert (result.status, result.exit_code, result.stdout) == ("failed", 2, b""), result
        assert b"usage: state-file" in result.stderr
        assert _wait_for(
            lambda: _cache_file(home, digests["state-file"]).read_bytes() != hello_code, REBUILT_S
        )
    finally:
        node.close()


def test_a_cache_file_with_a_flipped_byte_is_discarded_and_rebuilt(
    tmp_path: Path, key: Path, signed_modules: dict[str, Path]
) -> None:
    home = tmp_path / "home"
    digests = _cached_node(home, key, {"hello": signed_modules["hello"]})
    cache = _cache_file(home, digests["hello"])
    original = cache.read_bytes()
    flipped = bytearray(original)
    flipped[_padding_offset(original)] ^= 0x01
    cache.write_bytes(flipped)
    node = _open(home, key)
    try:
        result = node.run(digests["hello"], b"intact")
        assert (result.status, result.stdout) == ("succeeded", b"INTACT")
        assert _wait_for(lambda: cache.read_bytes() != bytes(flipped), REBUILT_S), (
            "the flipped cache file was kept (loaded without a check)"
        )
    finally:
        node.close()


def test_an_intact_cache_file_is_used(
    tmp_path: Path, key: Path, signed_modules: dict[str, Path]
) -> None:
    """The control: after a restart, the cached optimised code is loaded, not recompiled."""
    home = tmp_path / "home"
    digests = _cached_node(home, key, {"hello": signed_modules["hello"]})
    node = _open(home, key)
    try:
        result = node.run(digests["hello"], b"cached")
        assert (result.status, result.stdout) == ("succeeded", b"CACHED")
        assert (result.usage["tier"], result.usage["compiled"]) == ("optimized", False), (
            result.usage
        )
    finally:
        node.close()
