"""The committed generated code matches `proto/` (regenerate with scripts/gen_protos.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "python" / "vyr" / "api" / "v0"


def test_generated_code_matches_proto(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec and spec.loader
    gen_protos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_protos)

    written = gen_protos.generate(tmp_path)
    assert written, "protoc wrote nothing"
    for fresh in written:
        committed = GENERATED / fresh.name
        assert committed.exists(), f"{committed} is missing: run scripts/gen_protos.py"
        assert committed.read_text() == fresh.read_text(), (
            f"{committed} is stale: run scripts/gen_protos.py"
        )
