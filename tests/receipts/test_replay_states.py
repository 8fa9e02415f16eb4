"""Replaying a receipt whose task had states bound: each state is recreated from content the
caller gives, checked against the receipt's `before` digest, and a writer's result is compared
with the receipt's `state:NAME` subject (issue 12 section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vyr.errors import InvalidArgument, InvalidState
from vyr.receipts import decode_receipt
from vyr.receipts.replay_run import replay_receipt
from vyr.types import StateBinding


def _content(root: Path, value: str) -> Path:
    root.mkdir()
    (root / "k").write_text(value)
    return root


def _receipt_statement(node: Any, put_guest: Any, tmp_path: Path) -> dict[str, Any]:
    node.create_state("box", source=_content(tmp_path / "before", "old"))
    result = node.run(
        put_guest("state-file"),
        b"new",
        [StateBinding("box", "rw", "/state/data")],
        args=["put", "data", "k"],
        deterministic=True,
    )
    assert result.status == "succeeded", result.reason
    return decode_receipt(node.task_receipt(result.id)).statement()


def test_replay_recreates_a_written_state_and_matches(
    node: Any, put_guest: Any, tmp_path: Path
) -> None:
    statement = _receipt_statement(node, put_guest, tmp_path)
    subjects = {s["name"] for s in statement["subject"]}
    assert "state:box" in subjects
    outcome = replay_receipt(
        node, statement, input_bytes=b"new", states={"box": tmp_path / "before"}
    )
    assert outcome.matches, outcome.compared
    assert "state:box" in outcome.compared


def test_replay_refuses_other_starting_content(node: Any, put_guest: Any, tmp_path: Path) -> None:
    statement = _receipt_statement(node, put_guest, tmp_path)
    with pytest.raises(InvalidArgument, match="tree digest"):
        replay_receipt(
            node, statement, input_bytes=b"new", states={"box": _content(tmp_path / "other", "x")}
        )
    with pytest.raises(InvalidState, match="content before the run") as missing:
        replay_receipt(node, statement, input_bytes=b"new")
    assert "--state box=DIR" in (missing.value.hint or "")
