"""The task journal: every accepted task, in SQLite (WAL) in the node home.

A row is written (and committed) before the client learns the task id, and updated with the
outcome when the task ends. On open, rows a previous process left queued or running are marked
failed with reason `node_restarted`: after a crash no task stays in limbo. Idempotency keys
live here too, so a repeated submit returns the first task id even across restarts.

Outcome updates arrive on Rust worker threads, which must not wait on disk: they are queued
and written, in batches, by one writer thread. `on_commit` is called with each batch's rows once
they are committed: a caller told "this task ended" after that can rely on it across a crash.
Accepted rows can take the same path (`record_accepted_later`): many submits in flight then share
one commit instead of paying one each, and the event loop never waits on SQLite.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vyr.types import TERMINAL_STATUSES

RESTART_REASON = "node_restarted"

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
_COLUMNS = (
    "id, artifact, input_digest, bindings, resources, status, exit_code, trap_code, reason,"
    " stdout_digest, stderr_digest, phases, usage, granted, idempotency_key"
)
_STOP = object()


class _Accepted:
    """A queued insert and who to tell once it is committed (or failed)."""

    __slots__ = ("values", "done")

    def __init__(
        self, values: tuple[Any, ...], done: Callable[[BaseException | None], None]
    ) -> None:
        self.values = values
        self.done = done


class Journal:
    """The durable task record of one node (`<home>/journal.db`)."""

    def __init__(
        self, path: str | Path, on_commit: Callable[[list[dict[str, Any]]], None] | None = None
    ) -> None:
        self.path = Path(path)
        self._on_commit = on_commit
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{suffix}", 0o600)
        # NORMAL in WAL mode survives a process crash (kill -9); only power loss can lose the
        # last commits, which the harness does not ask for.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.interrupted = self._mark_interrupted()
        self._ends: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._write_ends, name="vyr-journal", daemon=True)
        self._writer.start()

    def _mark_interrupted(self) -> int:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tasks SET status = 'failed', reason = ? WHERE status IN ('queued', 'running')",
                (RESTART_REASON,),
            )
            return cursor.rowcount

    # -- writes -----------------------------------------------------------------------------
    def record_accepted(self, row: dict[str, Any]) -> None:
        """Commits a newly accepted task (keys: id, artifact, input_digest, bindings, resources,
        granted, idempotency_key)."""
        with self._lock:
            self._db.execute(_INSERT, _accepted_values(row))

    def record_accepted_later(
        self, row: dict[str, Any], done: Callable[[BaseException | None], None]
    ) -> None:
        """Queues the insert of `record_accepted` for the writer thread; `done(error)` is called
        there once it is committed (error None) or has failed. Queued before the task's outcome,
        it is always written first."""
        self._ends.put(_Accepted(_accepted_values(row), done))

    def record_end(self, outcome: Callable[[], dict[str, Any]]) -> None:
        """Queues an outcome; `outcome()` is called on the writer thread and returns the keys
        id, status, exit_code, trap_code, reason, stdout_digest, stderr_digest, phases, usage
        (other keys are passed through to `on_commit` only)."""
        self._ends.put(outcome)

    def flush(self) -> None:
        """Returns once every queued outcome is committed."""
        self._ends.join()

    def close(self) -> None:
        """Flushes, stops the writer and closes the database."""
        self._ends.put(_STOP)
        self._writer.join()
        with self._lock:
            self._db.close()

    def _write_ends(self) -> None:
        while True:
            batch = [self._ends.get()]
            while True:  # take whatever else is waiting: one transaction per batch
                try:
                    batch.append(self._ends.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            accepted = [item for item in batch if isinstance(item, _Accepted)]
            rows = [
                item() for item in batch if item is not _STOP and not isinstance(item, _Accepted)
            ]
            if accepted or rows:
                self._commit(accepted, rows)
                if rows and self._on_commit is not None:
                    self._on_commit(rows)
            for _ in batch:
                self._ends.task_done()
            if stop:
                return

    def _commit(self, accepted: list[_Accepted], rows: list[dict[str, Any]]) -> None:
        """Inserts, then outcome updates (an outcome is always queued after its insert), in one
        transaction; if that fails, each insert alone, so one bad row fails only its submit."""
        failed: dict[int, BaseException] = {}
        try:
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(_INSERT, [item.values for item in accepted])
                    self._db.executemany(_UPDATE_END, [_encode_end(row) for row in rows])
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except Exception:
            for item in accepted:
                try:
                    with self._lock:
                        self._db.execute(_INSERT, item.values)
                except Exception as error:
                    failed[id(item)] = error
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(_UPDATE_END, [_encode_end(row) for row in rows])
                self._db.execute("COMMIT")
        for item in accepted:
            item.done(failed.get(id(item)))

    # -- reads ------------------------------------------------------------------------------
    def get(self, task_id: str) -> dict[str, Any] | None:
        """The row of `task_id`, decoded, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
        return _decode(row) if row else None

    def task_for_key(self, key: str) -> str | None:
        """The task id an idempotency key was first used for."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM tasks WHERE idempotency_key = ?", (key,)
            ).fetchone()
        return row[0] if row else None

    def page(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Up to `limit` tasks recorded after position `after` (0: from the first), oldest
        first, each with its position (for `ListTasks` paging)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, {_COLUMNS} FROM tasks WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [(row[0], _decode(row[1:])) for row in rows]

    def unfinished(self) -> int:
        """How many rows are neither finished nor failed (0 after a clean drain)."""
        placeholders = ", ".join("?" * len(TERMINAL_STATUSES))
        with self._lock:
            (count,) = self._db.execute(
                f"SELECT COUNT(*) FROM tasks WHERE status NOT IN ({placeholders})",
                tuple(TERMINAL_STATUSES),
            ).fetchone()
        return int(count)


_INSERT = f"INSERT INTO tasks ({_COLUMNS}) VALUES ({', '.join('?' * 15)})"
_UPDATE_END = (
    "UPDATE tasks SET status=:status, exit_code=:exit_code, trap_code=:trap_code,"
    " reason=:reason, stdout_digest=:stdout_digest, stderr_digest=:stderr_digest,"
    " phases=:phases, usage=:usage WHERE id=:id"
)


def _accepted_values(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["id"],
        row["artifact"],
        row["input_digest"],
        json.dumps(row["bindings"]),
        json.dumps(row["resources"]),
        "queued",
        None,
        None,
        "",
        "",
        "",
        "{}",
        "{}",
        json.dumps(row.get("granted", {})),
        row.get("idempotency_key") or None,
    )


_END_COLUMNS = (
    "id",
    "status",
    "exit_code",
    "trap_code",
    "reason",
    "stdout_digest",
    "stderr_digest",
)


def _encode_end(row: dict[str, Any]) -> dict[str, Any]:
    encoded = {name: row[name] for name in _END_COLUMNS}
    return {**encoded, "phases": json.dumps(row["phases"]), "usage": json.dumps(row["usage"])}


def _decode(row: tuple[Any, ...]) -> dict[str, Any]:
    names = [name.strip() for name in _COLUMNS.split(",")]
    data = dict(zip(names, row, strict=True))
    for name in ("bindings", "resources", "phases", "usage", "granted"):
        data[name] = json.loads(data[name])
    return data
