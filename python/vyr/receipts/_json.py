"""JSON as receipts use it: one deterministic spelling out, strict parsing in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vyr.errors import ReceiptInvalid

# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def dumps(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same value always gives the same bytes."""
    return _ENCODER.encode(value).encode()


def loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object, or `ReceiptInvalid` naming `what` was not one. A key given twice is
    refused: it would let two readers see two different values."""
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as error:
        raise ReceiptInvalid(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ReceiptInvalid(f"{what} is not a JSON object")
    return value


def only_fields(value: Mapping[str, Any], allowed: set[str], what: str) -> None:
    """Refuses fields this version does not define: an unknown field (or a known one with a
    flipped byte) must never be ignored."""
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ReceiptInvalid(f"{what} has unknown field(s) {', '.join(map(repr, unknown))}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result
