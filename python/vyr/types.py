"""The typed task contract shared by the embedded runtime, the gRPC client and the CLI.

What is submitted is a `TaskSpec` (with its `StateBinding`s and `Resources`); what ended is a
`TaskResult` (with its `Phases`, `Usage`, `Granted` and `BoundState`s). The Rust binding reads a
`TaskSpec` by attribute and builds the named tuples itself, so no dict crosses it. One unit per
quantity everywhere: bytes, milliseconds for time limits, unix nanoseconds for timestamps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from vyr import _core

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
Mode = Literal["ro", "rw"]
U64_MAX = (1 << 64) - 1
# The longest deadline a caller can ask for in seconds: the whole u64 millisecond range.
MAX_TIMEOUT_S = U64_MAX // 1000


def _check_count(name: str, value: object, low: int = 0, high: int = U64_MAX) -> None:
    from vyr.errors import InvalidResources

    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidResources(
            f"invalid resources: {name} must be a whole number in {low}..{high}, not {value!r}"
        )
    if not low <= value <= high:
        raise InvalidResources(f"invalid resources: {name} is {value}, outside {low}..{high}")


@dataclass(frozen=True, slots=True)
class Resources:
    """What a task asks for; `None` takes the manifest's default, else the node's.

    `memory_bytes` caps linear memory, `timeout_s` (or `timeout_ms`, whichever is given) is the
    wall-clock deadline from the start of execution, rounded up to whole milliseconds, and
    `fuel` an optional instruction budget. Values outside 0..2**64-1 (or a timeout that is not
    a finite number of seconds > 0) are refused here with `InvalidResources` naming the field;
    the node refuses 0 and values above its ceilings, naming its own range.
    """

    memory_bytes: int | None = None
    timeout_s: float | None = None
    fuel: int | None = None
    timeout_ms: int | None = None

    def __post_init__(self) -> None:
        from vyr.errors import InvalidResources

        _check_count("memory_bytes", self.memory_bytes)
        _check_count("fuel", self.fuel)
        _check_count("timeout_ms", self.timeout_ms)
        if self.timeout_s is None:
            if self.timeout_ms is not None:
                object.__setattr__(self, "timeout_s", self.timeout_ms / 1000)
            return
        seconds = self.timeout_s
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or not 0 < seconds <= MAX_TIMEOUT_S
        ):
            raise InvalidResources(
                f"invalid resources: timeout_s must be a finite number of seconds in "
                f"(0, {MAX_TIMEOUT_S:g}], not {seconds!r}"
            )
        from_seconds = max(1, math.ceil(seconds * 1000))
        if self.timeout_ms is not None and self.timeout_ms != from_seconds:
            raise InvalidResources(
                f"invalid resources: timeout_s={seconds!r} and timeout_ms={self.timeout_ms} "
                "disagree; give one"
            )
        object.__setattr__(self, "timeout_ms", from_seconds)


@dataclass(frozen=True, slots=True)
class StateBinding:
    """A state (by id or name) bound to a task, read-only or read-write, seen by the guest at
    `path` (an absolute guest path, `/` included; None: `/state/NAME`)."""

    state: str
    mode: Mode = "ro"
    path: str | None = None

    def __post_init__(self) -> None:
        from vyr.errors import InvalidState

        if self.mode not in ("ro", "rw"):
            raise InvalidState(f'invalid state request: mode "{self.mode}": expected "ro" or "rw"')
        if not self.state:
            raise InvalidState("invalid state request: a binding needs a state id or name")

    @classmethod
    def parse(cls, text: str) -> StateBinding:
        """Parses `NAME:MODE` or `NAME:MODE@GUEST_PATH` (MODE is ro or rw)."""
        from vyr.errors import InvalidState

        binding, at, path = text.partition("@")
        name, sep, mode = binding.rpartition(":")
        if not sep or not name or mode not in ("ro", "rw") or (at and not path):
            raise InvalidState(
                f"state binding {text!r}: expected NAME:ro or NAME:rw, optionally @GUEST_PATH"
            )
        return cls(name, mode, path or None)  # type: ignore[arg-type]

    @classmethod
    def of(cls, value: StateBinding | str) -> StateBinding:
        """A binding as is, or parsed from its text form."""
        return cls.parse(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task request, the same for `submit_task`, `run` and the Control API."""

    artifact_digest: str
    input: bytes = b""
    state_bindings: tuple[StateBinding, ...] = ()
    resources: Resources = field(default_factory=Resources)
    args: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    # The digest of `input` when the caller knows it (a stored blob); else the node hashes it.
    input_digest: str | None = None
    # Virtual clocks and seeded random: the same artifact, input and states give the same
    # output on any node (docs/receipts.md).
    deterministic: bool = False

    @classmethod
    def of(
        cls,
        artifact_digest: str,
        input_bytes: bytes = b"",
        state_bindings: Iterable[StateBinding | str] = (),
        resources: Resources | None = None,
        args: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        deterministic: bool = False,
    ) -> TaskSpec:
        """From the seed verb's arguments (bindings may be given as `NAME:MODE[@PATH]` text)."""
        from vyr.errors import InvalidArgument

        if not isinstance(input_bytes, bytes | bytearray | memoryview):
            raise InvalidArgument("the task input must be bytes")
        return cls(
            artifact_digest=artifact_digest,
            input=bytes(input_bytes),
            state_bindings=tuple(StateBinding.of(b) for b in state_bindings),
            resources=resources or Resources(),
            args=tuple(args) if args is not None else None,
            env=dict(env or {}),
            deterministic=bool(deterministic),
        )


class _Record(Mapping[str, Any]):
    """A small frozen record read by attribute (`usage.wall_ns`) or by key (`usage["wall_ns"]`),
    equal to the dict of its fields: the 0.1 SDK handed these out as dicts, and callers written
    against it keep working."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(cls.__dict__.get("__annotations__", ())) or cls._fields

    def __getitem__(self, key: str) -> Any:
        if key not in self._fields:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __hash__(self) -> int:
        return hash(self.values_tuple())

    def values_tuple(self) -> tuple[Any, ...]:
        """The field values, in field order."""
        return tuple(getattr(self, name) for name in self._fields)

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Phases(_Record):
    """Unix-nanosecond timestamps of a task's phases; 0 where a phase was not reached."""

    queued: int = 0
    artifact_ready: int = 0
    scheduled: int = 0
    instantiated: int = 0
    started: int = 0
    ended: int = 0


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Usage(_Record):
    """What a task consumed. `tier` is which compiler's code ran (`"baseline"`: Winch's, for a
    new artifact's first tasks while Cranelift compiles it; `"optimized"`; None if the guest
    never started). `fuel_used` counts that code's own metering, which differs between the
    tiers, so a task with a fuel budget always waits for Cranelift's code."""

    wall_ns: int = 0
    peak_memory_bytes: int = 0
    fuel_used: int = 0
    compiled: bool = False
    cold: bool = False
    tier: str | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Granted(_Record):
    """The resources a task was granted (after defaults and ceilings)."""

    memory_bytes: int = 0
    timeout_ms: int = 0
    fuel: int | None = None


class BoundState(tuple[str, str, str]):
    """A state as bound to one task: which (`state_id`, `name`), how (`mode`) and where the
    guest saw it (`path`). It is the `(state_id, name, mode)` triple the 0.1 SDK returned, so
    it compares equal to one; `path` rides along as an attribute, and so do the tree digests
    (`vyrTreeV1`) of the state version the task saw (`before`, None if it never started) and,
    for a rw binding, the version it left (`after`: the committed result, or `before` if it
    did not commit; None for ro)."""

    path: str
    before: str | None
    after: str | None

    def __new__(
        cls,
        state_id: str,
        name: str,
        mode: str,
        path: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> BoundState:
        bound = super().__new__(cls, (state_id, name, mode))
        bound.path = path or f"/state/{name}"
        bound.before = before or None
        bound.after = after or None
        return bound

    @property
    def state_id(self) -> str:
        return self[0]

    @property
    def name(self) -> str:
        return self[1]

    @property
    def mode(self) -> str:
        return self[2]

    def values_tuple(self) -> tuple[str, str, str, str]:
        """The four fields that say what was bound, the path included."""
        return (self[0], self[1], self[2], self.path)

    def _asdict(self) -> dict[str, str | None]:
        return {
            "state_id": self[0],
            "name": self[1],
            "mode": self[2],
            "path": self.path,
            "before": self.before,
            "after": self.after,
        }

    def __repr__(self) -> str:
        return (
            f"BoundState({self[0]!r}, {self[1]!r}, {self[2]!r}, path={self.path!r}, "
            f"before={self.before!r}, after={self.after!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (BoundState, (*self.values_tuple(), self.before, self.after))


# Not slotted: callers copy a result with `TaskResult(**{**result.__dict__, ...})`.
@dataclass(frozen=True)
class TaskResult:
    """A task's status and, once it ended, its outcome, output and their digests."""

    id: str
    artifact: str
    status: TaskStatus
    exit_code: int | None
    trap_code: str | None
    reason: str
    stdout: bytes
    stderr: bytes
    phases: Phases = Phases()
    usage: Usage = Usage()
    granted: Granted = Granted()
    bindings: list[BoundState] = field(default_factory=list)
    # sha256 of stdout, stderr and input ("" until the task ended / when unknown).
    stdout_digest: str = ""
    stderr_digest: str = ""
    input_digest: str = ""
    # What the guest was started with (argv[0] is the artifact's name; env after the task's
    # overrides) and whether its clocks and random were virtual.
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    deterministic: bool = False

    @property
    def done(self) -> bool:
        """Whether the task has ended."""
        return self.status in TERMINAL_STATUSES

    @property
    def ok(self) -> bool:
        """Whether the task succeeded (exit code 0, nothing stopped it)."""
        return self.status == "succeeded"

    def without_output(self) -> TaskResult:
        """The same result without stdout/stderr (digests kept)."""
        import dataclasses

        return dataclasses.replace(self, stdout=b"", stderr=b"")

    def to_json(self, *, include_output: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (`id`, `status`, `exit_code`, `reason`, `phases`, `usage`, ...)."""
        data: dict[str, Any] = {
            "id": self.id,
            "artifact": self.artifact,
            "status": self.status,
            "exit_code": self.exit_code,
            "trap_code": self.trap_code,
            "reason": self.reason,
            "phases": self.phases._asdict(),
            "usage": self.usage._asdict(),
            "granted": self.granted._asdict(),
            "bindings": [b._asdict() for b in self.bindings],
            "stdout_digest": self.stdout_digest,
            "stderr_digest": self.stderr_digest,
            "input_digest": self.input_digest,
            "deterministic": self.deterministic,
        }
        if include_output:
            data["stdout"] = self.stdout.decode("utf-8", "replace")
            data["stderr"] = self.stderr.decode("utf-8", "replace")
        return data

    @classmethod
    def from_core(cls, outcome: _core.TaskOutcome) -> TaskResult:
        """From the binding's `TaskOutcome` (its parts are already these named tuples)."""
        return cls(
            outcome.id,
            outcome.artifact,
            outcome.status,  # type: ignore[arg-type]
            outcome.exit_code,
            outcome.trap_code,
            outcome.reason,
            outcome.stdout,
            outcome.stderr,
            outcome.phases,
            outcome.usage,
            outcome.granted,
            outcome.bindings,
            outcome.stdout_digest or "",
            outcome.stderr_digest or "",
            outcome.input_digest or "",
            outcome.args,
            dict(outcome.env),
            outcome.deterministic,
        )


@dataclass(frozen=True, slots=True)
class Artifact:
    """A stored artifact."""

    digest: str
    name: str
    size: int
    signer: str
    manifest: dict[str, Any]


@dataclass(frozen=True, slots=True)
class State:
    """An ephemeral state."""

    id: str
    name: str
    cls: str = "ephemeral"
    bound_tasks: int = 0
    bytes: int = 0
    #: The committed version's tree digest (`vyrTreeV1`, 64 hex digits; docs/receipts.md).
    digest: str = ""
    #: Entries (files, directories, symlinks) of the committed version.
    files: int = 0
