"""Issue 13 item 4 (SDK): out-of-range resources are `InvalidArgument` naming the field.

Today negative or huge integers leak PyO3's raw `OverflowError`, a NaN timeout a raw
`ValueError`, and a negative timeout is silently granted as 1 ms. The message must name the
field (`memory`, `fuel`, `timeout`) so a caller can tell which value was wrong. The env cases
are item 9 (a per-task env key the manifest would refuse).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from vyr.errors import InvalidArgument
from vyr.types import Resources

ITEM_4 = "issue 13 item 4: bad resource values give raw Python errors or are silently granted"
ITEM_9 = "issue 13 item 9: per-task env keys the manifest refuses are accepted"

BAD_RESOURCES = [
    pytest.param(
        {"memory_bytes": -1},
        "memory",
        id="memory=-1",
    ),
    pytest.param(
        {"memory_bytes": 2**64},
        "memory",
        id="memory=2**64",
    ),
    pytest.param({"fuel": -3}, "fuel", id="fuel=-3"),
    pytest.param(
        {"fuel": 2**64},
        "fuel",
        id="fuel=2**64",
    ),
    pytest.param(
        {"timeout_s": math.nan},
        "timeout",
        id="timeout=nan",
    ),
    pytest.param(
        {"timeout_s": math.inf},
        "timeout",
        id="timeout=inf",
    ),
    pytest.param(
        {"timeout_s": 1e300},
        "timeout",
        id="timeout=1e300",
    ),
    pytest.param(
        {"timeout_s": -1},
        "timeout",
        id="timeout=-1",
    ),
    # Refused clearly today: kept so the fix cannot regress them.
    pytest.param({"memory_bytes": 0}, "memory", id="memory=0"),
    pytest.param({"fuel": 0}, "fuel", id="fuel=0"),
]


@pytest.mark.parametrize(("resources", "field"), BAD_RESOURCES)
@pytest.mark.parametrize("call", ["run", "submit_task"])
def test_bad_resources_are_invalid_argument_naming_the_field(
    node: Any, put_guest: Callable[[str], str], resources: dict[str, Any], field: str, call: str
) -> None:
    digest = put_guest("hello")
    with pytest.raises(InvalidArgument, match=f"(?i){field}"):
        getattr(node, call)(digest, b"x", resources=Resources(**resources))


def test_good_resources_are_granted(node: Any, put_guest: Callable[[str], str]) -> None:
    """The control: in-range values are granted as asked."""
    result = node.run(
        put_guest("hello"),
        b"x",
        resources=Resources(memory_bytes=48 << 20, timeout_s=2.5, fuel=10**9),
    )
    assert result.status == "succeeded"
    assert result.granted == {"memory_bytes": 48 << 20, "timeout_ms": 2500, "fuel": 10**9}


@pytest.mark.parametrize("env", [{"A=B": "x"}, {"": "x"}], ids=["key with =", "empty key"])
def test_env_keys_the_manifest_refuses_are_refused_per_task(
    node: Any, put_guest: Callable[[str], str], env: dict[str, str]
) -> None:
    with pytest.raises(InvalidArgument, match="(?i)env"):
        node.run(put_guest("hello"), b"x", env=env)
