"""Proto <-> domain conversions shared by the server and `vyr.Client` (no I/O here)."""

from __future__ import annotations

import json

from vyr.api.v0 import control_pb2 as pb
from vyr.types import (
    Artifact,
    BoundState,
    Granted,
    Phases,
    Resources,
    State,
    StateBinding,
    TaskResult,
    Usage,
)

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
    """Proto resources -> domain (the same units; `InvalidResources` for a 0)."""
    return Resources(
        memory_bytes=message.memory_bytes if message.HasField("memory_bytes") else None,
        timeout_ms=message.timeout_ms if message.HasField("timeout_ms") else None,
        fuel=message.fuel if message.HasField("fuel") else None,
    )


def binding_to_proto(binding: StateBinding) -> pb.StateBinding:
    """A domain binding -> proto."""
    mode = mode_to_proto(binding.mode)
    return pb.StateBinding(state=binding.state, mode=mode, path=binding.path or "")  # type: ignore[arg-type]


def binding_from_proto(message: pb.StateBinding) -> StateBinding:
    """A proto binding -> domain."""
    return StateBinding(message.state, mode_from_proto(message.mode), message.path or None)  # type: ignore[arg-type]


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
        digest=state.digest,
        files=state.files,
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
        digest=message.digest,
        files=message.files,
    )


def task_to_proto(result: TaskResult, *, include_output: bool) -> pb.Task:
    """A task -> proto; output bytes only when asked for (the digests always)."""
    usage = result.usage
    message = pb.Task(
        id=result.id,
        artifact=result.artifact,
        status=result.status,
        reason=result.reason,
        stdout_digest=result.stdout_digest,
        stderr_digest=result.stderr_digest,
        input_digest=result.input_digest,
        args=result.args,
        env=result.env,
        deterministic=result.deterministic,
        phases=result.phases._asdict(),
        usage=pb.Usage(
            wall_ns=usage.wall_ns,
            peak_memory_bytes=usage.peak_memory_bytes,
            fuel_used=usage.fuel_used,
            compiled=usage.compiled,
            cold=usage.cold,
            tier=usage.tier or "",
        ),
        granted=pb.Resources(
            memory_bytes=result.granted.memory_bytes,
            timeout_ms=result.granted.timeout_ms,
            fuel=result.granted.fuel,
        ),
        bindings=[
            pb.Binding(
                state_id=b.state_id,
                name=b.name,
                mode=mode_to_proto(b.mode),  # type: ignore[arg-type]
                path=b.path,
                digest_before=b.before or "",
                digest_after=b.after or "",
            )
            for b in result.bindings
        ],
    )
    if result.exit_code is not None:
        message.exit_code = result.exit_code
    if result.trap_code is not None:
        message.trap_code = result.trap_code
    if include_output:
        message.stdout = result.stdout
        message.stderr = result.stderr
    return message


def task_from_proto(message: pb.Task) -> TaskResult:
    """A proto task -> the same `TaskResult` the embedded runtime returns."""
    granted = message.granted
    usage = message.usage
    return TaskResult(
        id=message.id,
        artifact=message.artifact,
        status=message.status,  # type: ignore[arg-type]
        exit_code=message.exit_code if message.HasField("exit_code") else None,
        trap_code=message.trap_code if message.HasField("trap_code") else None,
        reason=message.reason,
        stdout=message.stdout,
        stderr=message.stderr,
        phases=Phases(**{name: message.phases.get(name, 0) for name in Phases._fields}),
        usage=Usage(
            usage.wall_ns,
            usage.peak_memory_bytes,
            usage.fuel_used,
            usage.compiled,
            usage.cold,
            usage.tier or None,
        ),  # fmt: skip
        granted=Granted(
            granted.memory_bytes,
            granted.timeout_ms,
            granted.fuel if granted.HasField("fuel") else None,
        ),
        bindings=[
            BoundState(
                b.state_id, b.name, mode_from_proto(b.mode), b.path, b.digest_before, b.digest_after
            )
            for b in message.bindings
        ],
        stdout_digest=message.stdout_digest,
        stderr_digest=message.stderr_digest,
        input_digest=message.input_digest,
        args=list(message.args),
        env=dict(message.env),
        deterministic=message.deterministic,
    )
