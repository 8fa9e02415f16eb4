"""Running a receipt's task again (`vyr receipt replay`): fetch by digest, run, compare.

The artifact comes from the node's store (or a bundle, imported through the node, so its
signature is verified against the node's trust store as for any upload); the input from the
node home's blob store by digest (`vyr run --receipt` and deterministic daemon tasks keep it
there) or from the caller. The task runs with the receipt's args, env, granted resources and
determinism; its stdout and stderr digests are compared with the receipt's subjects. States
are not recreated yet: a receipt with bindings is refused with a message saying so.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vyr.errors import BlobNotFound, InvalidArgument, InvalidState
from vyr.receipts.replay import replay_plan


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay ran and how its outputs compare: subject -> (receipt's hex, replay's)."""

    task_id: str
    status: str
    deterministic: bool
    compared: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def mismatched(self) -> list[str]:
        """The subjects whose digests differ."""
        return [name for name, (want, got) in self.compared.items() if want != got]

    @property
    def matches(self) -> bool:
        """Whether every subject was reproduced exactly."""
        return bool(self.compared) and not self.mismatched

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {
            "task_id": self.task_id,
            "status": self.status,
            "deterministic": self.deterministic,
            "matches": self.matches,
            "subjects": {
                name: {"receipt": want, "replay": got}
                for name, (want, got) in self.compared.items()
            },
        }


def replay_receipt(
    node: Any,
    statement: dict[str, Any],
    *,
    bundle: str | os.PathLike[str] | None = None,
    input_bytes: bytes | None = None,
    home: str | os.PathLike[str] | None = None,
) -> ReplayOutcome:
    """Runs the statement's task on `node` (a `vyr.Node`) and compares its outputs."""
    from vyr.types import Resources

    plan = replay_plan(statement)
    if plan.bindings:
        names = ", ".join(binding.state for binding in plan.bindings)
        raise InvalidState(
            f"the receipt's task had states bound ({names}): replaying states is not supported"
            " yet, only stdin-to-stdout tasks"
        )
    if bundle is not None and plan.artifact_digest not in {a.digest for a in node.list_artifacts()}:
        from vyr.bundle import import_bundle

        import_bundle(node, bundle)
    data = input_bytes if input_bytes is not None else _stored_input(node, plan.input_digest, home)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != plan.input_digest:
        raise InvalidArgument(
            f"the input given hashes to {digest}, the receipt says {plan.input_digest}"
        )
    granted = plan.resources
    result = node.run(
        plan.artifact_digest,
        data,
        resources=Resources(
            memory_bytes=granted.get("memory_bytes"),
            timeout_ms=granted.get("timeout_ms"),
            fuel=granted.get("fuel"),
        ),
        args=list(plan.args[1:]),  # argv[0] is always the artifact's name
        env=plan.env,
        deterministic=plan.deterministic,
    )
    produced = {"stdout": result.stdout_digest, "stderr": result.stderr_digest}
    compared = {}
    for name, digest_set in plan.expected.items():
        want = digest_set.get("sha256", "")
        got = produced.get(name, "").removeprefix("sha256:")
        compared[name] = (want, got)
    return ReplayOutcome(result.id, result.status, plan.deterministic, compared)


def _stored_input(node: Any, digest: str, home: str | os.PathLike[str] | None) -> bytes:
    from vyr.blobs import BlobStore
    from vyr.config import default_home

    root = Path(home or getattr(node, "home", None) or default_home())
    try:
        return BlobStore(root / "blobs").get(digest)
    except BlobNotFound:
        error = BlobNotFound(f"the receipt's input {digest} is not in {root / 'blobs'}")
        error.hint = "give it with --input FILE"
        raise error from None
