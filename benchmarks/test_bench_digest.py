"""sha256 of 10 MiB: VYR's `_core.sha256_digest` against `hashlib`, same bytes, same run."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

SIZE = 10 * 1024 * 1024
ROUNDS = 30


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


def test_digest_vyr(benchmark: Any, payload: bytes) -> None:
    """The Rust digest (GIL released above 64 KiB), returning `sha256:<hex>`."""
    from vyr import _core

    benchmark.group = "digest"
    digest = benchmark.pedantic(
        _core.sha256_digest, args=(payload,), rounds=ROUNDS, warmup_rounds=2
    )
    assert digest == "sha256:" + hashlib.sha256(payload).hexdigest()
    benchmark.extra_info.update(
        key="digest_vyr",
        versus="digest_hashlib",
        label="vyr._core.sha256_digest(10 MiB)",
        bytes=SIZE,
        mib_per_s=SIZE / 2**20 / benchmark.stats.stats.median,
    )


def test_digest_hashlib(benchmark: Any, payload: bytes) -> None:
    """The baseline, formatted the same way so both produce the same string."""

    def hashlib_digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    benchmark.group = "digest"
    benchmark.pedantic(hashlib_digest, args=(payload,), rounds=ROUNDS, warmup_rounds=2)
    benchmark.extra_info.update(
        key="digest_hashlib",
        label="'sha256:' + hashlib.sha256(10 MiB).hexdigest()",
        bytes=SIZE,
        baseline=True,
        mib_per_s=SIZE / 2**20 / benchmark.stats.stats.median,
        openssl=__import__("ssl").OPENSSL_VERSION,
    )
