"""The wasi-testsuite's test specifications (its doc/specification.md), read into one shape.

A test case is `NAME.wasm` with an optional `NAME.json` beside it, in either format the spec
defines: the legacy one (`args`, `env`, `root` or `dirs`, `stdin`, `exit_code`, `stdout`,
`stderr`) or the operation-based one (`run`, `wait`, `read` operations; `connect`, `send`,
`recv` and `proposals` need sockets or HTTP, which a VYR task does not have, so such a case
is reported as unsupported rather than guessed at). A missing `.json` means no args, no env,
exit code 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NETWORK_OPERATIONS = frozenset({"connect", "send", "recv"})


class UnsupportedSpec(Exception):
    """A case needing what VYR refuses on purpose (network proposals): docs/wasi.md."""


@dataclass(frozen=True)
class WasiCase:
    """One test program and what the spec says to run it with and expect from it."""

    module: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Directories (relative to the test's directory) and the absolute guest path of each:
    # `root` becomes "/", each legacy `dirs` entry "/NAME".
    mounts: list[tuple[str, str]] = field(default_factory=list)
    stdin: bytes = b""
    exit_code: int = 0
    stdout: str | None = None  # None: not checked
    stderr: str | None = None

    @property
    def name(self) -> str:
        return self.module.stem


def discover(root: Path) -> list[Path]:
    """Every test program below `root` (a suite checkout or one of its test directories)."""
    return sorted(root.rglob("*.wasm"))


def read_case(module: Path) -> WasiCase:
    """The case for `module`, from its `.json` (and a `.stdin` file, if one is beside it)."""
    spec_path = module.with_suffix(".json")
    spec: dict[str, Any] = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    stdin_path = module.with_suffix(".stdin")
    stdin = stdin_path.read_bytes() if stdin_path.exists() else b""
    if "operations" in spec or "proposals" in spec:
        return _from_operations(module, spec, stdin)
    return _from_legacy(module, spec, stdin)


def _mounts(run: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    if run.get("root"):
        mounts.append((str(run["root"]), "/"))
    for name in run.get("dirs") or []:
        mounts.append((str(name), "/" + str(name).strip("/")))
    return mounts


def _stdin(spec: dict[str, Any], default: bytes) -> bytes:
    value = spec.get("stdin")
    return default if value is None else str(value).encode()


def _from_legacy(module: Path, spec: dict[str, Any], stdin: bytes) -> WasiCase:
    return WasiCase(
        module=module,
        args=[str(a) for a in spec.get("args", [])],
        env={str(k): str(v) for k, v in spec.get("env", {}).items()},
        mounts=_mounts(spec),
        stdin=_stdin(spec, stdin),
        exit_code=int(spec.get("exit_code", 0)),
        stdout=spec.get("stdout"),
        stderr=spec.get("stderr"),
    )


def _from_operations(module: Path, spec: dict[str, Any], stdin: bytes) -> WasiCase:
    if spec.get("proposals"):
        raise UnsupportedSpec(f"needs the {', '.join(spec['proposals'])} proposal(s)")
    operations = spec.get("operations") or [{"type": "run"}, {"type": "wait"}]
    kinds = [op.get("type") for op in operations]
    if NETWORK_OPERATIONS & set(kinds):
        raise UnsupportedSpec("needs a network connection to the guest")
    if kinds.count("run") != 1 or kinds.count("wait") != 1:
        raise ValueError(f"{module.name}: expected one run and one wait operation, got {kinds}")
    run = next(op for op in operations if op["type"] == "run")
    wait = next(op for op in operations if op["type"] == "wait")
    reads: dict[str, str] = {}
    for op in operations:
        if op["type"] == "read":
            stream = op.get("id", "stdout")
            reads[stream] = reads.get(stream, "") + str(op.get("payload", ""))
    return WasiCase(
        module=module,
        args=[str(a) for a in run.get("args", [])],
        env={str(k): str(v) for k, v in run.get("env", {}).items()},
        mounts=_mounts(run),
        stdin=_stdin(run, stdin),
        exit_code=int(wait.get("exit_code", 0)),
        stdout=reads.get("stdout"),
        stderr=reads.get("stderr"),
    )
