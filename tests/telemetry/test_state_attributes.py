"""A task span names each bound state and its content digests before and after (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vyr.telemetry.records import task_attributes
from vyr.types import StateBinding


def test_span_attributes_carry_state_digests(node: Any, put_guest: Any, tmp_path: Path) -> None:
    source = tmp_path / "content"
    source.mkdir()
    (source / "k").write_text("old")
    state = node.create_state("box", source=source)
    result = node.run(
        put_guest("state-file"),
        b"new",
        [StateBinding("box", "rw", "/state/data")],
        args=["put", "data", "k"],
    )
    assert result.status == "succeeded", result.reason
    attributes = task_attributes(result, "")
    assert attributes["vyr.state.0.name"] == "box"
    assert attributes["vyr.state.0.mode"] == "rw"
    assert attributes["vyr.state.0.path"] == "/state/data"
    assert attributes["vyr.state.0.digest_before"] == state.digest
    after = node.list_states()[0].digest
    assert attributes["vyr.state.0.digest_after"] == after != state.digest
