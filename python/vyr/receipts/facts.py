"""The facts a receipt states about one task run, as plain values.

The node fills a `RunFacts` when a task ends (from its task record and what it knows about
itself); this package never reads the runtime's own types, so the receipt format depends only
on the fields below. `RunFacts.from_mapping` takes the same facts as a plain nested mapping
(snake_case keys, as in this file). Every value is checked here, once, so a malformed fact is
refused when the statement is built, never written into a signed receipt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from vyr.errors import InvalidArgument

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# The task statuses a finished task can have (vyr.types.TERMINAL_STATUSES, restated so this
# package does not import the runtime's types).
TERMINAL_STATUSES = frozenset(
    {"succeeded", "failed", "trapped", "deadline_exceeded", "cancelled", "rejected"}
)
RESOURCE_NAMES = frozenset({"memory_bytes", "timeout_ms", "fuel"})
USAGE_NAMES = frozenset({"wall_ns", "peak_memory_bytes", "fuel_used", "tier"})


@dataclass(frozen=True)
class ArtifactFacts:
    """Which code ran.

    - `digest`: `sha256:` digest of the module bytes (the artifact's address);
    - `manifest_digest`: `sha256:` digest of the canonical manifest bytes, exactly as signed;
    - `signer`: key id (`sha256:` of the raw public key) of the manifest's signer;
    - `name`: the manifest's name, for people (not checked against anything).
    """

    digest: str
    manifest_digest: str
    signer: str
    name: str | None = None

    def __post_init__(self) -> None:
        for name in ("digest", "manifest_digest", "signer"):
            _digest(f"artifact.{name}", getattr(self, name))
        _optional_text("artifact.name", self.name)


@dataclass(frozen=True)
class BindingFacts:
    """A state the task had mounted.

    - `state`: the state's name; `mode`: `"ro"` or `"rw"`; `guest_path`: where the guest saw
      it (`/state/NAME`);
    - `digest_before` / `digest_after`: its tree digest (`tree_digest`, 64 hex digits) when
      the task started and after it ended, when the node knows them. For an `rw` binding,
      `digest_after` is what the task left behind (a failed writer's copy is dropped, so it
      equals `digest_before`); it becomes the receipt subject `state:NAME`.
    """

    state: str
    mode: Literal["ro", "rw"]
    guest_path: str
    digest_before: str | None = None
    digest_after: str | None = None

    def __post_init__(self) -> None:
        _text("binding.state", self.state)
        if self.mode not in ("ro", "rw"):
            raise InvalidArgument(f"binding {self.state!r}: mode {self.mode!r}, expected ro or rw")
        _text("binding.guest_path", self.guest_path)
        for name in ("digest_before", "digest_after"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and HEX_DIGEST.fullmatch(value)):
                raise InvalidArgument(
                    f"binding {self.state!r}: {name} {value!r} is not a tree digest (64 hex digits)"
                )


@dataclass(frozen=True)
class NodeFacts:
    """Where it ran.

    - `key_id`: key id of the node key that signs the receipt (or its checkpoint);
    - `vyr_version`, `wasmtime_version`: the versions that ran the task;
    - `engine_fingerprint`: the compiled-code fingerprint of the engine configuration (the
      name of its `cache/compiled/` directory), if the node gives one.
    """

    key_id: str
    vyr_version: str
    wasmtime_version: str
    engine_fingerprint: str | None = None

    def __post_init__(self) -> None:
        _digest("node.key_id", self.key_id)
        _text("node.vyr_version", self.vyr_version)
        _text("node.wasmtime_version", self.wasmtime_version)
        _optional_text("node.engine_fingerprint", self.engine_fingerprint)


@dataclass(frozen=True)
class RunFacts:
    """Everything one receipt states about one finished task.

    - `task_id`: the node's id for the task;
    - `artifact`, `node`: see `ArtifactFacts`, `NodeFacts`;
    - `input_digest`, `stdout_digest`, `stderr_digest`: `sha256:` digests of the stdin bytes
      given and of the captured output (stdout and stderr become the receipt's subjects);
    - `status`: the terminal task status (`succeeded`, `failed`, `trapped`,
      `deadline_exceeded`, `cancelled`, `rejected`); `exit_code`: the guest's exit code, None
      if it did not exit; `trap_code`: wasmtime's trap name, None without a trap; `reason`:
      the node's one-line explanation (may be empty);
    - `started_ns`, `ended_ns`: wall-clock times (Unix epoch nanoseconds) when the guest
      started and when the task ended (a task that never started: both its end);
    - `args`, `env`: the arguments and environment the guest saw (manifest defaults merged
      with per-run ones). A receipt discloses them: keep secrets out of a task's env;
    - `bindings`: the states mounted, in the order they were bound;
    - `resources`: what the node granted, `memory_bytes`, `timeout_ms`, `fuel` (None: no cap);
    - `phases_ns`: the core's phase timestamps (Unix epoch ns): `queued`, `artifact_ready`,
      `scheduled`, `instantiated`, `started`, `ended`, as far as the task got;
    - `deterministic`: whether the node ran the task in a configuration where the same
      inputs give the same outputs (no wall clock, no randomness exposed), so a replay may
      compare outputs byte for byte.
    """

    task_id: str
    artifact: ArtifactFacts
    node: NodeFacts
    input_digest: str
    stdout_digest: str
    stderr_digest: str
    status: str
    exit_code: int | None
    trap_code: str | None
    started_ns: int
    ended_ns: int
    reason: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    bindings: tuple[BindingFacts, ...] = ()
    resources: Mapping[str, int | None] = field(default_factory=dict)
    phases_ns: Mapping[str, int] = field(default_factory=dict)
    deterministic: bool = False
    # What the task asked for (same names as `resources`; None: the default) and what it used:
    # `wall_ns`, `peak_memory_bytes`, `fuel_used` (counts) and `tier` (which compiler's code
    # ran: "baseline", "optimized", or None if the guest never started).
    requested: Mapping[str, int | None] = field(default_factory=dict)
    usage: Mapping[str, int | str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _text("task_id", self.task_id)
        for name in ("input_digest", "stdout_digest", "stderr_digest"):
            _digest(name, getattr(self, name))
        if self.status not in TERMINAL_STATUSES:
            raise InvalidArgument(
                f"status {self.status!r} is not a finished task's status "
                f"({', '.join(sorted(TERMINAL_STATUSES))})"
            )
        if self.exit_code is not None:
            _integer("exit_code", self.exit_code, low=-(2**31), high=2**32 - 1)
        _optional_text("trap_code", self.trap_code)
        if not isinstance(self.reason, str):
            raise InvalidArgument(f"reason must be text, not {type(self.reason).__name__}")
        _integer("started_ns", self.started_ns)
        _integer("ended_ns", self.ended_ns)
        if self.ended_ns < self.started_ns:
            raise InvalidArgument("ended_ns is before started_ns")
        if not all(isinstance(arg, str) for arg in self.args):
            raise InvalidArgument("args must be text")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()):
            raise InvalidArgument("env must map text to text")
        if not all(isinstance(binding, BindingFacts) for binding in self.bindings):
            raise InvalidArgument("bindings must be BindingFacts")
        for name, value in self.resources.items():
            if name not in RESOURCE_NAMES:
                raise InvalidArgument(
                    f"resources: unknown {name!r} (known: {', '.join(sorted(RESOURCE_NAMES))})"
                )
            if value is not None:
                _integer(f"resources.{name}", value)
        for name, value in self.phases_ns.items():
            _text("phase name", name)
            _integer(f"phases_ns.{name}", value)
        if not isinstance(self.deterministic, bool):
            raise InvalidArgument("deterministic must be true or false")
        for name, value in self.requested.items():
            if name not in RESOURCE_NAMES:
                raise InvalidArgument(f"requested: unknown {name!r}")
            if value is not None:
                _integer(f"requested.{name}", value)
        for name, used in self.usage.items():
            if name not in USAGE_NAMES:
                raise InvalidArgument(f"usage: unknown {name!r}")
            if name == "tier":
                _optional_text("usage.tier", used)
            else:
                _integer(f"usage.{name}", used)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RunFacts:
        """The facts from a plain nested mapping with this class's field names (`artifact`,
        `node` and each of `bindings` as mappings too); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidArgument(f"run facts: unknown field(s) {', '.join(unknown)}")
        values = dict(data)
        try:
            values["artifact"] = _nested(ArtifactFacts, data["artifact"])
            values["node"] = _nested(NodeFacts, data["node"])
            values["bindings"] = tuple(_nested(BindingFacts, b) for b in data.get("bindings", ()))
            values["args"] = tuple(data.get("args", ()))
            return cls(**values)
        except (KeyError, TypeError) as error:
            raise InvalidArgument(f"run facts: {error}") from None


def _nested(kind: Any, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"run facts: expected a mapping for {kind.__name__}")
    return kind(**value)


def _digest(name: str, value: Any) -> None:
    if not (isinstance(value, str) and DIGEST.fullmatch(value)):
        raise InvalidArgument(f"{name} {value!r} is not a digest (sha256: + 64 lowercase hex)")


def _text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{name} must be non-empty text, not {value!r}")


def _optional_text(name: str, value: Any) -> None:
    if value is not None:
        _text(name, value)


def _integer(name: str, value: Any, *, low: int = 0, high: int = 2**64 - 1) -> None:
    # bool is an int in Python; a receipt must never say `true` where a count belongs.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"{name} must be a whole number in {low}..{high}, not {value!r}")
