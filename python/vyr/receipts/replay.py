"""What a replay of a receipt's run needs: the seam for `vyr receipt replay`.

`replay_plan` reads a (verified) statement into what to run again: which artifact, which
input, which arguments, environment and resources, which states with which content, and which
outputs a faithful re-run must reproduce. Running it is the runtime's job, not this package's:
fetch the artifact and the input blob by digest, recreate each state from a directory whose
`tree_digest` is the binding's `tree_digest_before`, run, then compare the new outputs with
`expected` (byte for byte only when `deterministic`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vyr.errors import ReceiptInvalid
from vyr.receipts.statement import subject_digests
from vyr.receipts.tree_digest import ALGORITHM as TREE_ALGORITHM

_RESOURCE_NAMES = {"memoryBytes": "memory_bytes", "timeoutMs": "timeout_ms", "fuel": "fuel"}


@dataclass(frozen=True)
class ReplayBinding:
    """One state to recreate: its name, mode, guest path and tree digest before the run
    (None: the receipt does not know it, so the replay cannot start from the same state)."""

    state: str
    mode: Literal["ro", "rw"]
    guest_path: str
    tree_digest_before: str | None


@dataclass(frozen=True)
class ReplayPlan:
    """Everything a re-run of the receipt's task needs, and what it must reproduce.

    `resources` uses `vyr.Resources`' units (`memory_bytes`, `timeout_ms`, `fuel`);
    `expected` maps subject names (`stdout`, `stderr`, `state:NAME`) to their digest sets.
    """

    artifact_digest: str
    manifest_digest: str
    input_digest: str
    args: tuple[str, ...]
    env: dict[str, str]
    bindings: tuple[ReplayBinding, ...]
    resources: dict[str, int | None]
    expected: dict[str, dict[str, str]]
    deterministic: bool

    @property
    def complete(self) -> bool:
        """Whether every state's starting content is known (else a replay starts elsewhere)."""
        return all(binding.tree_digest_before is not None for binding in self.bindings)


def replay_plan(statement: Mapping[str, Any]) -> ReplayPlan:
    """The plan for a statement (`Verified.statement`); `ReceiptInvalid` names a field the
    predicate lacks."""
    predicate = statement.get("predicate")
    if not isinstance(predicate, Mapping):
        raise ReceiptInvalid("the statement has no predicate")
    try:
        artifact, resources = predicate["artifact"], predicate["resources"]
        bindings = tuple(
            ReplayBinding(
                binding["state"],
                binding["mode"],
                binding["guestPath"],
                (binding.get("before") or {}).get(TREE_ALGORITHM),
            )
            for binding in predicate["bindings"]
        )
        return ReplayPlan(
            artifact_digest=artifact["digest"],
            manifest_digest=artifact["manifestDigest"],
            input_digest=predicate["input"]["digest"],
            args=tuple(predicate["args"]),
            env=dict(predicate["env"]),
            bindings=bindings,
            resources={_RESOURCE_NAMES[name]: value for name, value in resources.items()},
            expected=subject_digests(statement),
            deterministic=predicate["deterministic"] is True,
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ReceiptInvalid(
            f"the predicate lacks or misspells a field a replay needs: {error}"
        ) from None
