"""The task journal: every accepted task, in SQLite (WAL) in the node home.

A row is committed before the client learns the task id, and again with the outcome before
anyone hears the task ended. On open, rows a previous process left queued or running are marked
failed with reason `node_restarted`: after a crash no task stays in limbo. Idempotency keys
live here too, with a digest of the request they were first used for.

This module only stores: the daemon's node (`vyr.server.node`) decides when to commit, from its
one task-ended loop. Both writes are upserts, so an end committed before its accept (a task can
end before the accepting thread has queued its row) loses nothing. Small outputs are kept in the
row itself; larger ones in the blob store (the row then holds only their digests).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vyr.types import (
    TERMINAL_STATUSES,
    BoundState,
    Granted,
    Phases,
    Resources,
    TaskResult,
    Usage,
)

RESTART_REASON = "node_restarted"
INLINE_OUTPUT_BYTES = 64 << 10  # outputs up to this size live in the row, not in a blob file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    artifact TEXT NOT NULL,
    input_digest TEXT NOT NULL,
    bindings TEXT NOT NULL,
    resources TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    trap_code TEXT,
    reason TEXT NOT NULL DEFAULT '',
    stdout_digest TEXT NOT NULL DEFAULT '',
    stderr_digest TEXT NOT NULL DEFAULT '',
    phases TEXT NOT NULL DEFAULT '{}',
    usage TEXT NOT NULL DEFAULT '{}',
    granted TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE
);
"""
# Columns added since the first schema: (name, declaration), added to older journals on open.
_ADDED = (
    ("stdout", "BLOB"),
    ("stderr", "BLOB"),
    ("request_digest", "TEXT NOT NULL DEFAULT ''"),
    # What a receipt needs and a result would otherwise lose after eviction or a restart
    # (docs/receipts.md): the guest's args and env, determinism, and the provenance (manifest
    # digest, signer, engine) recorded when the task ended.
    ("args", "TEXT NOT NULL DEFAULT '[]'"),
    ("env", "TEXT NOT NULL DEFAULT '{}'"),
    ("deterministic", "INTEGER NOT NULL DEFAULT 0"),
    ("provenance", "TEXT NOT NULL DEFAULT ''"),
)
_COLUMNS = (
    "seq, id, artifact, input_digest, bindings, resources, status, exit_code, trap_code, reason,"
    " stdout_digest, stderr_digest, phases, usage, granted, idempotency_key, stdout, stderr,"
    " request_digest, args, env, deterministic, provenance"
)
_ACCEPT = (
    "INSERT INTO tasks (id, artifact, input_digest, bindings, resources, status, granted,"
    " idempotency_key, request_digest)"
    " VALUES (:id, :artifact, :input_digest, :bindings, :resources, 'queued', :granted,"
    " :idempotency_key, :request_digest)"
    " ON CONFLICT(id) DO UPDATE SET resources = excluded.resources,"
    " idempotency_key = excluded.idempotency_key, request_digest = excluded.request_digest"
)
_END = (
    "INSERT INTO tasks (id, artifact, input_digest, bindings, resources, status, exit_code,"
    " trap_code, reason, stdout_digest, stderr_digest, phases, usage, granted, stdout, stderr,"
    " args, env, deterministic, provenance)"
    " VALUES (:id, :artifact, :input_digest, :bindings, '{}', :status, :exit_code, :trap_code,"
    " :reason, :stdout_digest, :stderr_digest, :phases, :usage, :granted, :stdout, :stderr,"
    " :args, :env, :deterministic, :provenance)"
    " ON CONFLICT(id) DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code,"
    " trap_code = excluded.trap_code, reason = excluded.reason,"
    " stdout_digest = excluded.stdout_digest, stderr_digest = excluded.stderr_digest,"
    " phases = excluded.phases, usage = excluded.usage, bindings = excluded.bindings,"
    " input_digest = excluded.input_digest, stdout = excluded.stdout, stderr = excluded.stderr,"
    " args = excluded.args, env = excluded.env, deterministic = excluded.deterministic,"
    " provenance = excluded.provenance"
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A task as accepted: its queued snapshot, what was asked for and under which key."""

    task: TaskResult
    resources: Resources
    idempotency_key: str = ""
    request_digest: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal row: the task (with its output when the row holds it), its position, the
    request it was accepted for, and whether the output lives in the blob store instead."""

    seq: int
    task: TaskResult
    resources: Resources
    idempotency_key: str
    request_digest: str
    output_in_blobs: bool
    provenance: str = ""  # JSON (vyr.receipts.issuer.Provenance); "" in rows from before it


class Journal:
    """The durable task record of one node (`<home>/journal.db`). Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{suffix}", 0o600)
        # NORMAL in WAL mode survives a process crash (kill -9); only power loss can lose the
        # last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(tasks)")}
        for name, declaration in _ADDED:
            if name not in present:
                self._db.execute(f"ALTER TABLE tasks ADD COLUMN {name} {declaration}")
        self.interrupted = self._mark_interrupted()

    def _mark_interrupted(self) -> int:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tasks SET status = 'failed', reason = ? WHERE status IN ('queued', 'running')",
                (RESTART_REASON,),
            )
            return cursor.rowcount

    # -- writes -----------------------------------------------------------------------------
    def commit(
        self,
        accepted: list[Accepted],
        ended: list[TaskResult],
        provenance: Mapping[str, str] | None = None,
    ) -> None:
        """Writes accepted tasks and ended ones in one transaction (all or nothing);
        `provenance`: task id -> what its receipt needs beyond the result (JSON)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_ACCEPT, [_accepted_row(item) for item in accepted])
                known = provenance or {}
                rows = [_ended_row(result, known.get(result.id, "")) for result in ended]
                self._db.executemany(_END, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()

    # -- reads ------------------------------------------------------------------------------
    def get(self, task_id: str) -> Entry | None:
        """The row of `task_id`, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
        return _entry(row) if row else None

    def for_key(self, key: str) -> Entry | None:
        """The row an idempotency key was first used for, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE idempotency_key = ?", (key,)
            ).fetchone()
        return _entry(row) if row else None

    def page(self, after: int, limit: int) -> list[Entry]:
        """Up to `limit` tasks recorded after position `after` (0: from the first), oldest
        first (for `ListTasks` paging)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [_entry(row) for row in rows]

    def unfinished(self) -> int:
        """How many rows are neither finished nor failed (0 after a clean drain)."""
        placeholders = ", ".join("?" * len(TERMINAL_STATUSES))
        with self._lock:
            (count,) = self._db.execute(
                f"SELECT COUNT(*) FROM tasks WHERE status NOT IN ({placeholders})",
                tuple(TERMINAL_STATUSES),
            ).fetchone()
        return int(count)


def _bindings_json(bindings: Sequence[BoundState]) -> str:
    return json.dumps([[*b.values_tuple(), b.before, b.after] for b in bindings])


def _accepted_row(item: Accepted) -> dict[str, Any]:
    task = item.task
    return {
        "id": task.id,
        "artifact": task.artifact,
        "input_digest": task.input_digest,
        "bindings": _bindings_json(task.bindings),
        "resources": json.dumps(
            {
                "memory_bytes": item.resources.memory_bytes,
                "timeout_ms": item.resources.timeout_ms,
                "fuel": item.resources.fuel,
            }
        ),
        "granted": json.dumps(task.granted._asdict()),
        "idempotency_key": item.idempotency_key or None,
        "request_digest": item.request_digest,
    }


def _ended_row(result: TaskResult, provenance: str = "") -> dict[str, Any]:
    inline = len(result.stdout) + len(result.stderr) <= INLINE_OUTPUT_BYTES
    return {
        "id": result.id,
        "artifact": result.artifact,
        "input_digest": result.input_digest,
        "bindings": _bindings_json(result.bindings),
        "status": result.status,
        "exit_code": result.exit_code,
        "trap_code": result.trap_code,
        "reason": result.reason,
        "stdout_digest": result.stdout_digest,
        "stderr_digest": result.stderr_digest,
        "phases": json.dumps(result.phases._asdict()),
        "usage": json.dumps(result.usage._asdict()),
        "granted": json.dumps(result.granted._asdict()),
        "stdout": result.stdout if inline else None,
        "stderr": result.stderr if inline else None,
        "args": json.dumps(result.args),
        "env": json.dumps(result.env),
        "deterministic": int(result.deterministic),
        "provenance": provenance,
    }


def output_in_row(result: TaskResult) -> bool:
    """Whether the journal keeps this result's output in its row (else: the blob store)."""
    return len(result.stdout) + len(result.stderr) <= INLINE_OUTPUT_BYTES


def _entry(row: tuple[Any, ...]) -> Entry:
    (
        seq, task_id, artifact, input_digest, bindings, resources, status, exit_code, trap_code,
        reason, stdout_digest, stderr_digest, phases, usage, granted, key, stdout, stderr,
        request_digest, args, env, deterministic, provenance,
    ) = row  # fmt: skip
    ended = status in TERMINAL_STATUSES
    task = TaskResult(
        id=task_id,
        artifact=artifact,
        status=status,
        exit_code=exit_code,
        trap_code=trap_code,
        reason=reason,
        stdout=stdout or b"",
        stderr=stderr or b"",
        phases=Phases(**_known(Phases._fields, json.loads(phases))),
        usage=Usage(**_known(Usage._fields, json.loads(usage))),
        granted=Granted(**_known(Granted._fields, json.loads(granted))),
        bindings=[_bound_state(b) for b in json.loads(bindings)],
        stdout_digest=stdout_digest,
        stderr_digest=stderr_digest,
        input_digest=input_digest,
        args=json.loads(args),
        env=json.loads(env),
        deterministic=bool(deterministic),
    )
    requested = json.loads(resources)
    return Entry(
        seq=seq,
        task=task,
        resources=Resources(**_known(("memory_bytes", "timeout_ms", "fuel"), requested)),
        idempotency_key=key or "",
        request_digest=request_digest,
        output_in_blobs=ended and stdout is None and bool(stdout_digest),
        provenance=provenance,
    )


def _known(fields: tuple[str, ...], values: dict[str, Any]) -> dict[str, Any]:
    """The values of `fields` only (rows written by older versions may hold others)."""
    return {name: values[name] for name in fields if name in values}


def _bound_state(value: list[str]) -> BoundState:
    """A binding as stored: (state id, name, mode[, path[, before, after]]); older rows lack
    the path, which `BoundState` then takes as the default `/state/NAME`, and the digests."""
    return BoundState(*value[:6])
