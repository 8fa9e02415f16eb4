"""Running a receipt's task again (`vyr receipt replay`): fetch by digest, run, compare.

The artifact comes from the node's store (or a bundle, imported through the node, so its
signature is verified against the node's trust store as for any upload); the input from the
node home's blob store by digest (`vyr run --receipt` and deterministic daemon tasks keep it
there) or from the caller. The task runs with the receipt's args, env, granted resources and
determinism; its stdout and stderr digests are compared with the receipt's subjects. Each
bound state is recreated from content the caller gives (a directory or tar archive per state
name) whose tree digest must be the receipt's `before`, bound at the same guest path in the same
mode; a writer's new tree digest is compared with the receipt's `state:NAME` subject.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vyr.errors import BlobNotFound, InvalidArgument, InvalidState
from vyr.receipts.replay import ReplayBinding, replay_plan
from vyr.receipts.tree_digest import ALGORITHM as TREE_ALGORITHM


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
    states: Mapping[str, str | os.PathLike[str]] | None = None,
) -> ReplayOutcome:
    """Runs the statement's task on `node` (a `vyr.Node`) and compares its outputs. `states`
    maps each bound state's name to its content before the run (a directory or tar file)."""
    from vyr.types import Resources

    plan = replay_plan(statement)
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
        _recreate_states(node, plan.bindings, states or {}),
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
    for replayed, bound in zip(plan.bindings, result.bindings, strict=True):
        if bound.after:
            produced[f"state:{replayed.state}"] = bound.after
    compared = {}
    for name, digest_set in plan.expected.items():
        want = digest_set.get("sha256") or digest_set.get(TREE_ALGORITHM, "")
        got = produced.get(name, "").removeprefix("sha256:")
        compared[name] = (want, got)
    return ReplayOutcome(result.id, result.status, plan.deterministic, compared)


def _recreate_states(
    node: Any,
    bindings: tuple[ReplayBinding, ...],
    contents: Mapping[str, str | os.PathLike[str]],
) -> list[Any]:
    """A fresh state per binding, filled from the content given for its name and checked
    against the receipt's `before` digest; the bindings that mount them as the run did."""
    from vyr.types import StateBinding

    unknown = sorted(set(contents) - {binding.state for binding in bindings})
    if unknown:
        raise InvalidArgument(f"the receipt's task had no state named {', '.join(unknown)}")
    mounted = []
    for binding in bindings:
        source = contents.get(binding.state)
        if source is None:
            error = InvalidState(
                f"the receipt's task had state {binding.state!r} bound ({binding.mode} at"
                f" {binding.guest_path}): its content before the run is needed"
            )
            error.hint = f"give it with --state {binding.state}=DIR (or a .tar)"
            raise error
        state = node.create_state(f"replay-{secrets.token_hex(6)}", source=source)
        if binding.tree_digest_before and state.digest != binding.tree_digest_before:
            raise InvalidArgument(
                f"--state {binding.state}: that content's tree digest is {state.digest}, but the"
                f" receipt's run started from {binding.tree_digest_before}"
            )
        mounted.append(StateBinding(state.id, binding.mode, binding.guest_path))
    return mounted


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
