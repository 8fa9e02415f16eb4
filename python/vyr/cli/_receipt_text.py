"""A receipt's statement as lines for people (`vyr receipt show`).

The statement may not have been verified, so nothing here assumes a field exists or has the
type the format says: a missing or odd value is shown as it is, or as `?`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary_rows(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows, in the order a reader asks: what ran, on what, how it ended."""
    predicate = _mapping(statement.get("predicate"))
    artifact = _mapping(predicate.get("artifact"))
    node = _mapping(predicate.get("node"))
    rows = [
        ("task", _text(predicate.get("taskId"))),
        ("artifact", f"{_text(artifact.get('name'))} {_text(artifact.get('digest'))}"),
        ("  manifest", _text(artifact.get("manifestDigest"))),
        ("  signer", _text(artifact.get("signer"))),
        ("input", _text(_mapping(predicate.get("input")).get("digest"))),
        ("args", " ".join(map(str, predicate.get("args") or [])) or "(none)"),
        (
            "env",
            " ".join(f"{k}={v}" for k, v in _mapping(predicate.get("env")).items()) or "(none)",
        ),
        ("outcome", outcome(predicate)),
        ("started", _text(predicate.get("startedOn"))),
        ("finished", _text(predicate.get("finishedOn"))),
        ("resources", _pairs(_mapping(predicate.get("resources"))) or "(none)"),
        (
            "node",
            f"{_text(node.get('keyId'))} (vyr {_text(node.get('vyrVersion'))}, "
            f"wasmtime {_text(node.get('wasmtimeVersion'))})",
        ),
        ("deterministic", "yes" if predicate.get("deterministic") is True else "no"),
    ]
    for index, binding in enumerate(predicate.get("bindings") or []):
        binding = _mapping(binding)
        rows.append(
            (
                "bindings" if index == 0 else "",
                f"{_text(binding.get('state'))} {_text(binding.get('mode'))} at "
                f"{_text(binding.get('guestPath'))}, before {_digest(binding.get('before'))}, "
                f"after {_digest(binding.get('after'))}",
            )
        )
    for index, subject in enumerate(statement.get("subject") or []):
        subject = _mapping(subject)
        rows.append(
            (
                "subjects" if index == 0 else "",
                f"{_text(subject.get('name'))} {_digest(subject.get('digest'))}",
            )
        )
    return rows


def outcome(predicate: Mapping[str, Any]) -> str:
    """`succeeded, exit 0`, `trapped (unreachable)`, ..."""
    result = _mapping(predicate.get("outcome"))
    text = _text(result.get("status"))
    if result.get("exitCode") is not None:
        text += f", exit {result['exitCode']}"
    if result.get("trapCode"):
        text += f" ({result['trapCode']})"
    return text


def _digest(value: Any) -> str:
    """A DigestSet as `algorithm:hex` (several joined by spaces); None as `unknown`."""
    if value is None:
        return "unknown"
    return " ".join(f"{k}:{v}" for k, v in _mapping(value).items()) or "?"


def _pairs(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={'none' if v is None else v}" for k, v in values.items())


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return "?" if value is None or value == "" else str(value)
