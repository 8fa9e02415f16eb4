"""Plain result and request types shared by the embedded runtime and the gRPC client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TaskStatus = Literal[
    "queued",
    "running",
    "succeeded",
    "failed",
    "trapped",
    "deadline_exceeded",
    "cancelled",
    "rejected",
]
TERMINAL_STATUSES = frozenset(
    {"succeeded", "failed", "trapped", "deadline_exceeded", "cancelled", "rejected"}
)


@dataclass(frozen=True)
class Resources:
    """What a task asks for; `None` takes the manifest's default, else the node's."""

    memory_bytes: int | None = None
    timeout_s: float | None = None
    fuel: int | None = None

    @property
    def timeout_ms(self) -> int | None:
        """The deadline in whole milliseconds (at least 1)."""
        if self.timeout_s is None:
            return None
        return max(1, round(self.timeout_s * 1000))


@dataclass(frozen=True)
class StateBinding:
    """A state (by id or name) bound to a task, read-only or read-write."""

    state: str
    mode: Literal["ro", "rw"] = "ro"

    @classmethod
    def parse(cls, text: str) -> StateBinding:
        """Parses `NAME:ro` or `NAME:rw`."""
        from vyr.errors import InvalidState

        name, sep, mode = text.rpartition(":")
        if not sep or not name or mode not in ("ro", "rw"):
            raise InvalidState(f"state binding {text!r}: expected NAME:ro or NAME:rw")
        return cls(name, mode)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Artifact:
    """A stored artifact."""

    digest: str
    name: str
    size: int
    signer: str
    manifest: dict[str, Any]


@dataclass(frozen=True)
class State:
    """An ephemeral state."""

    id: str
    name: str
    cls: str = "ephemeral"
    bound_tasks: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class TaskResult:
    """A task's status and, once it ended, its outcome and captured output.

    `usage` has `wall_ns`, `peak_memory_bytes`, `fuel_used`, `compiled`, `cold` and `tier`:
    which compiler's code ran (`"baseline"`: Winch's, for a new artifact's first tasks while
    Cranelift compiles it; `"optimized"`; None if the guest never started). `fuel_used` counts
    that code's own metering, which differs between the tiers (Winch's counts several times
    less for the same work), so a task with a fuel budget always waits for Cranelift's code.
    """

    id: str
    artifact: str
    status: TaskStatus
    exit_code: int | None
    trap_code: str | None
    reason: str
    stdout: bytes
    stderr: bytes
    phases: dict[str, int] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    granted: dict[str, Any] = field(default_factory=dict)
    bindings: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether the task has ended."""
        return self.status in TERMINAL_STATUSES

    @property
    def ok(self) -> bool:
        """Whether the task succeeded (exit code 0, nothing stopped it)."""
        return self.status == "succeeded"

    def to_json(self, *, include_output: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (`id`, `status`, `exit_code`, `reason`, ...)."""
        data: dict[str, Any] = {
            "id": self.id,
            "artifact": self.artifact,
            "status": self.status,
            "exit_code": self.exit_code,
            "trap_code": self.trap_code,
            "reason": self.reason,
            "phases": self.phases,
            "usage": self.usage,
            "granted": self.granted,
            "bindings": [{"state_id": s, "name": n, "mode": m} for s, n, m in self.bindings],
        }
        if include_output:
            data["stdout"] = self.stdout.decode("utf-8", "replace")
            data["stderr"] = self.stderr.decode("utf-8", "replace")
        return data

    @classmethod
    def from_core(cls, raw: dict[str, Any]) -> TaskResult:
        """From the dict `vyr._core` returns."""
        return cls(
            id=raw["id"],
            artifact=raw["artifact"],
            status=raw["status"],
            exit_code=raw["exit_code"],
            trap_code=raw["trap_code"],
            reason=raw["reason"],
            stdout=raw["stdout"],
            stderr=raw["stderr"],
            phases=raw["phases"],
            usage=raw["usage"],
            granted=raw["granted"],
            bindings=[tuple(b) for b in raw["bindings"]],  # type: ignore[misc]
        )
