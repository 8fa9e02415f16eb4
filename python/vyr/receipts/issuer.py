"""A node's receipts, issued on request from what it recorded when each task ended.

Why on request and not at each end (docs/receipts.md, "Cost"): a statement costs 33 µs to
build in Python and a signature 41 µs, against a warm task of 64-119 µs; even batched, the
statement alone is half a warm task. A task's end instead records the few facts a receipt
needs that the node would otherwise lose (args, env, determinism, the manifest digest, the
engine; the daemon's journal keeps them), and `receipt()` builds and signs the statement when
someone asks. ed25519 signatures are deterministic and the statement's bytes are too, so the
same task gives the same receipt bytes every time it is asked for, before and after a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vyr.errors import TaskNotEnded, TaskNotFound
from vyr.receipts.facts import ArtifactFacts, BindingFacts, NodeFacts, RunFacts
from vyr.receipts.node_key import NodeKey, load_node_signer, public_identity
from vyr.receipts.sign import sign_receipt
from vyr.receipts.signing import ReceiptSigner
from vyr.receipts.statement import statement_bytes
from vyr.types import TERMINAL_STATUSES, Resources, TaskResult


@dataclass(frozen=True)
class Provenance:
    """What a receipt states that the task's result does not carry: the artifact's manifest
    digest, signer and name, and the engine that ran it. Recorded when the task ends."""

    manifest_digest: str
    signer: str
    name: str | None
    vyr_version: str
    wasmtime_version: str
    engine_fingerprint: str | None

    def to_json(self) -> str:
        """The journal's form."""
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Provenance | None:
        """From the journal's form; None for rows written before receipts."""
        if not text:
            return None
        return cls(**json.loads(text))


class ReceiptIssuer:
    """Builds and signs receipts for one node home. `artifact_manifest(digest)` returns an
    artifact's canonical manifest bytes; `engine` is `(wasmtime version, fingerprint)`."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        artifact_manifest: Callable[[str], bytes],
        engine: tuple[str, str | None],
    ) -> None:
        from vyr import _core

        self.home = home
        self._manifest = artifact_manifest
        self._engine = engine
        self._vyr_version = str(getattr(_core, "__version__", "0"))
        self._provenance: dict[str, Provenance] = {}  # by artifact digest; a handful
        self._signer: ReceiptSigner | None = None
        self._lock = threading.Lock()

    @property
    def signer(self) -> ReceiptSigner:
        """The node key's signer (made at first use)."""
        with self._lock:
            if self._signer is None:
                self._signer = load_node_signer(self.home)
            return self._signer

    def node_key(self) -> NodeKey:
        """The node's public key and key id."""
        return public_identity(self.signer)

    def provenance(self, artifact_digest: str) -> Provenance:
        """The provenance of a task of this artifact (cached: one per artifact)."""
        known = self._provenance.get(artifact_digest)
        if known is None:
            manifest = self._manifest(artifact_digest)
            fields = json.loads(manifest)
            known = Provenance(
                manifest_digest="sha256:" + hashlib.sha256(manifest).hexdigest(),
                signer=fields["signer"],
                name=fields.get("name") or None,
                vyr_version=self._vyr_version,
                wasmtime_version=self._engine[0],
                engine_fingerprint=self._engine[1],
            )
            self._provenance[artifact_digest] = known
        return known

    def statement(
        self, result: TaskResult, provenance: Provenance, requested: Resources | None
    ) -> bytes:
        """The statement's bytes for an ended task."""
        return statement_bytes(self.facts(result, provenance, requested))

    def receipt(
        self, result: TaskResult, provenance: Provenance | None, requested: Resources | None
    ) -> bytes:
        """The task's receipt: a DSSE envelope signed by the node key."""
        check_ended(result)
        if provenance is None:
            raise TaskNotEnded(
                f"task {result.id} ended before this node recorded receipts: it has none"
            )
        return sign_receipt(self.statement(result, provenance, requested), self.signer)

    def facts(
        self, result: TaskResult, provenance: Provenance, requested: Resources | None
    ) -> RunFacts:
        """The receipt facts of an ended task."""
        check_ended(result)
        phases = {k: v for k, v in result.phases._asdict().items() if v}
        ended = result.phases.ended or max(phases.values(), default=0)
        started = result.phases.started or ended
        usage = result.usage
        granted = result.granted
        return RunFacts(
            task_id=result.id,
            artifact=ArtifactFacts(
                result.artifact, provenance.manifest_digest, provenance.signer, provenance.name
            ),
            node=NodeFacts(
                self.signer.key_id,
                provenance.vyr_version,
                provenance.wasmtime_version,
                provenance.engine_fingerprint,
            ),
            input_digest=result.input_digest,
            stdout_digest=result.stdout_digest,
            stderr_digest=result.stderr_digest or _EMPTY,
            status=result.status,
            exit_code=result.exit_code,
            trap_code=result.trap_code,
            reason=result.reason,
            started_ns=min(started, ended),
            ended_ns=ended,
            args=tuple(result.args),
            env=dict(result.env),
            bindings=tuple(_binding(b) for b in result.bindings),
            resources={
                "memory_bytes": granted.memory_bytes or None,
                "timeout_ms": granted.timeout_ms or None,
                "fuel": granted.fuel,
            },
            requested=_requested(requested),
            usage={
                "wall_ns": int(usage.wall_ns),
                "peak_memory_bytes": int(usage.peak_memory_bytes),
                "fuel_used": int(usage.fuel_used),
                "tier": usage.tier,
            },
            phases_ns=phases,
            deterministic=bool(result.deterministic),
        )


_EMPTY = "sha256:" + hashlib.sha256(b"").hexdigest()


def check_ended(result: TaskResult) -> None:
    """`TaskNotEnded` unless the task ended on this node with an outcome to vouch for."""
    if result.status not in TERMINAL_STATUSES:
        raise TaskNotEnded(f"task {result.id} is {result.status}: a receipt needs its end")
    if not result.stdout_digest:
        raise TaskNotEnded(
            f"task {result.id} never ended on this node ({result.reason or result.status}):"
            " there is no outcome to vouch for"
        )


def _requested(requested: Resources | None) -> dict[str, int | None]:
    if requested is None:
        return {}
    return {
        "memory_bytes": requested.memory_bytes,
        "timeout_ms": requested.timeout_ms,
        "fuel": requested.fuel,
    }


def _tree(value: Any) -> str | None:
    """A tree digest as the receipt spells it (64 hex), from however the binding gives it."""
    if not value:
        return None
    text = str(value).rpartition(":")[2]
    return text if len(text) == 64 else None


def _binding(bound: Any) -> BindingFacts:
    # BoundState.before/.after arrive with the state-content work; older results lack them.
    return BindingFacts(
        bound.name,
        bound.mode,
        bound.path,
        _tree(getattr(bound, "before", None)),
        _tree(getattr(bound, "after", None)),
    )


def lookup_failed(task_id: str) -> TaskNotFound:
    """The error for a receipt of a task this node does not know."""
    return TaskNotFound(f"unknown task {task_id}: no receipt")


__all__ = ["Provenance", "ReceiptIssuer", "TaskNotEnded", "lookup_failed"]
