"""Proto <-> domain conversions shared by the server and `vyr.Client` (no I/O here)."""

from __future__ import annotations

import json
from typing import Any

from vyr.api.v0 import control_pb2 as pb
from vyr.types import Artifact, Resources, State, StateBinding, TaskResult

_MODES = {"ro": pb.MODE_RO, "rw": pb.MODE_RW}


def mode_to_proto(mode: str) -> int:
    """`ro`/`rw` -> the proto enum."""
    return _MODES[mode]


def mode_from_proto(mode: int) -> str:
    """The proto enum -> `ro`/`rw` (unspecified reads as `ro`)."""
    return "rw" if mode == pb.MODE_RW else "ro"


def resources_to_proto(resources: Resources | None) -> pb.Resources:
    """Domain resources -> proto (unset fields stay unset)."""
    message = pb.Resources()
    if resources is None:
        return message
    if resources.memory_bytes is not None:
        message.memory_bytes = resources.memory_bytes
    if resources.timeout_ms is not None:
        message.timeout_ms = resources.timeout_ms
    if resources.fuel is not None:
        message.fuel = resources.fuel
    return message


def resources_from_proto(message: pb.Resources) -> Resources:
    """Proto resources -> domain (`timeout_s` from whole milliseconds)."""
    return Resources(
        memory_bytes=message.memory_bytes if message.HasField("memory_bytes") else None,
        timeout_s=message.timeout_ms / 1000 if message.HasField("timeout_ms") else None,
        fuel=message.fuel if message.HasField("fuel") else None,
    )


def binding_to_proto(binding: StateBinding) -> pb.StateBinding:
    """A domain binding -> proto."""
    return pb.StateBinding(state=binding.state, mode=mode_to_proto(binding.mode))  # type: ignore[arg-type]


def binding_from_proto(message: pb.StateBinding) -> StateBinding:
    """A proto binding -> domain."""
    return StateBinding(message.state, mode_from_proto(message.mode))  # type: ignore[arg-type]


def artifact_to_proto(artifact: Artifact) -> pb.Artifact:
    """A stored artifact -> proto (the manifest as JSON text)."""
    return pb.Artifact(
        digest=artifact.digest,
        name=artifact.name,
        size=artifact.size,
        signer=artifact.signer,
        manifest_json=json.dumps(artifact.manifest, sort_keys=True),
    )


def artifact_from_proto(message: pb.Artifact) -> Artifact:
    """A proto artifact -> domain."""
    return Artifact(
        digest=message.digest,
        name=message.name,
        size=message.size,
        signer=message.signer,
        manifest=json.loads(message.manifest_json or "{}"),
    )


def state_to_proto(state: State) -> pb.State:
    """A state -> proto."""
    return pb.State(
        id=state.id,
        name=state.name,
        bound_tasks=state.bound_tasks,
        bytes=state.bytes,
        **{"class": state.cls},
    )


def state_from_proto(message: pb.State) -> State:
    """A proto state -> domain."""
    return State(
        id=message.id,
        name=message.name,
        cls=getattr(message, "class"),
        bound_tasks=message.bound_tasks,
        bytes=message.bytes,
    )


def task_to_proto(
    result: TaskResult,
    *,
    include_output: bool,
    stdout_digest: str = "",
    stderr_digest: str = "",
    input_digest: str = "",
) -> pb.Task:
    """A task snapshot -> proto; output bytes only when asked for."""
    message = pb.Task(
        id=result.id,
        artifact=result.artifact,
        status=result.status,
        reason=result.reason,
        stdout_digest=stdout_digest,
        stderr_digest=stderr_digest,
        input_digest=input_digest,
        usage_json=json.dumps(result.usage, sort_keys=True),
    )
    if result.exit_code is not None:
        message.exit_code = result.exit_code
    if result.trap_code is not None:
        message.trap_code = result.trap_code
    if include_output:
        message.stdout = result.stdout
        message.stderr = result.stderr
    for name, value in result.phases.items():
        message.phases[name] = int(value or 0)
    granted = result.granted
    if granted:
        message.granted.CopyFrom(
            pb.Resources(
                memory_bytes=granted.get("memory_bytes"),
                timeout_ms=granted.get("timeout_ms"),
                fuel=granted.get("fuel"),
            )
        )
    for state_id, name, mode in result.bindings:
        message.bindings.append(pb.Binding(state_id=state_id, name=name, mode=mode_to_proto(mode)))  # type: ignore[arg-type]
    return message


def task_from_proto(message: pb.Task) -> TaskResult:
    """A proto task -> the same `TaskResult` the embedded runtime returns."""
    granted: dict[str, Any] = {}
    if message.HasField("granted"):
        for name in ("memory_bytes", "timeout_ms", "fuel"):
            granted[name] = (
                getattr(message.granted, name) if message.granted.HasField(name) else None
            )
    return TaskResult(
        id=message.id,
        artifact=message.artifact,
        status=message.status,  # type: ignore[arg-type]
        exit_code=message.exit_code if message.HasField("exit_code") else None,
        trap_code=message.trap_code if message.HasField("trap_code") else None,
        reason=message.reason,
        stdout=message.stdout,
        stderr=message.stderr,
        phases=dict(message.phases),
        usage=json.loads(message.usage_json or "{}"),
        granted=granted,
        bindings=[(b.state_id, b.name, mode_from_proto(b.mode)) for b in message.bindings],
    )
