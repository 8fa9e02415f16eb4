"""The daemon's node: the embedded `vyr.Runtime` plus what a long-lived server adds to it.

That is the task journal (durable record, idempotency keys, results after a restart), the blob
store (chunked inputs, outputs by digest) and task-end notifications for waiters and trace
streams. Methods here are synchronous and may touch disk: the servicer calls them through
`asyncio.to_thread`.

A task's end is announced (to waiters, listeners and `view`) only once its outcome is committed
to the journal, so nothing a client was told can be contradicted by the journal after a crash.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from vyr.blobs import EMPTY_DIGEST, BlobStore, digest_of
from vyr.errors import StorageError, TaskNotFound
from vyr.journal import Journal
from vyr.runtime import Runtime, Task
from vyr.types import Resources, StateBinding, TaskResult

log = logging.getLogger("vyr.server")

EndListener = Callable[[TaskResult], None]
RecordedCallback = Callable[["TaskView"], None]
_RECORD_WAIT_S = 10.0
# Views of recently recorded tasks kept in memory, so the WaitTask or GetTask that usually
# follows an end needs no thread hop or journal read (small outputs only: memory stays bounded).
_RECENT_VIEWS = 4096
_RECENT_OUTPUT_BYTES = 64 << 10


class TaskView:
    """A task as the API shows it: its result plus the digests of its input and output."""

    __slots__ = ("result", "input_digest", "stdout_digest", "stderr_digest")

    def __init__(
        self, result: TaskResult, input_digest: str, stdout_digest: str, stderr_digest: str
    ) -> None:
        self.result = result
        self.input_digest = input_digest
        self.stdout_digest = stdout_digest
        self.stderr_digest = stderr_digest


class Node:
    """A runtime rooted at `home`, with its journal and blob store."""

    def __init__(self, home: str | Path | None = None, **limits: Any) -> None:
        # Streams are always on in the daemon (their history starts with it); export per OTEL_*.
        self.runtime = Runtime(home, telemetry=True, **limits)
        self.home = self.runtime.home
        # Tasks accepted whose outcome is not committed yet -> callbacks for when it is.
        self._unrecorded: dict[str, list[RecordedCallback]] = {}
        self._unrecorded_lock = threading.Lock()
        self._recent: OrderedDict[str, TaskView] = OrderedDict()
        self.journal = Journal(self.home / "journal.db", on_commit=self._outcomes_committed)
        self.blobs = BlobStore(self.home / "blobs")
        self.accepted = 0
        self.ended = 0
        self._input_digests: dict[str, str] = {}
        self._key_lock = threading.Lock()
        self._listeners: set[EndListener] = set()
        self._listeners_lock = threading.Lock()
        if self.journal.interrupted:
            log.warning(
                "%d task(s) left queued or running by the previous process were marked failed (node_restarted)",
                self.journal.interrupted,
            )

    # -- tasks ------------------------------------------------------------------------------
    def submit(
        self,
        artifact_digest: str,
        input_bytes: bytes | None,
        input_digest: str | None,
        bindings: Iterable[StateBinding],
        resources: Resources,
        args: list[str] | None,
        env: Mapping[str, str] | None,
        idempotency_key: str = "",
    ) -> tuple[str, bool]:
        """Accepts and journals a task; returns (task id, whether the key named an older one)."""
        if input_bytes is None:
            input_bytes = self.blobs.get(input_digest or EMPTY_DIGEST)
        digest = input_digest or digest_of(input_bytes)
        bindings = list(bindings)
        if not idempotency_key:
            return self._submit(
                artifact_digest, input_bytes, digest, bindings, resources, args, env, ""
            ), False
        # Keyed submits are serialised so two racing calls cannot both run the task.
        with self._key_lock:
            existing = self.journal.task_for_key(idempotency_key)
            if existing is not None:
                return existing, True
            return self._submit(
                artifact_digest,
                input_bytes,
                digest,
                bindings,
                resources,
                args,
                env,
                idempotency_key,
            ), False

    def _submit(
        self,
        artifact_digest: str,
        input_bytes: bytes,
        input_digest: str,
        bindings: list[StateBinding],
        resources: Resources,
        args: list[str] | None,
        env: Mapping[str, str] | None,
        key: str,
    ) -> str:
        task, row = self._accept(
            artifact_digest, input_bytes, input_digest, bindings, resources, args, env, key
        )
        try:
            self.journal.record_accepted(row)
        except Exception as error:
            self._forget(task)
            raise StorageError(f"could not journal task {task.id}: {error}") from None
        self.accepted += 1
        self._watch(task)
        return task.id

    def submit_inline(
        self,
        artifact_digest: str,
        input_bytes: bytes,
        bindings: Iterable[StateBinding],
        resources: Resources,
        args: list[str] | None,
        env: Mapping[str, str] | None,
        committed: Callable[[BaseException | None], None],
    ) -> str:
        """`submit` for an unkeyed task whose (small) input came with the request, without
        waiting on disk, so it may run on the event loop: the journal thread commits the row
        together with others, then calls `committed(error)`. Until then the id must not be
        revealed to anyone."""
        digest = digest_of(input_bytes)
        task, row = self._accept(
            artifact_digest, input_bytes, digest, list(bindings), resources, args, env, ""
        )

        def done(error: BaseException | None) -> None:
            if error is not None:
                self._forget(task)
                committed(StorageError(f"could not journal task {task.id}: {error}"))
                return
            self.accepted += 1
            committed(None)

        self.journal.record_accepted_later(row, done)
        self._watch(task)  # after the insert was queued: the outcome is always written after it
        return task.id

    def _accept(
        self,
        artifact_digest: str,
        input_bytes: bytes,
        input_digest: str,
        bindings: list[StateBinding],
        resources: Resources,
        args: list[str] | None,
        env: Mapping[str, str] | None,
        key: str,
    ) -> tuple[Task, dict[str, Any]]:
        """Submits to the runtime; returns the task and its journal row (not yet written)."""
        task = self.runtime.submit_task(
            artifact_digest, input_bytes, bindings, resources, args=args, env=env
        )
        snapshot = task.result()
        with self._unrecorded_lock:
            self._unrecorded[task.id] = []
        self._input_digests[task.id] = input_digest
        row = {
            "id": task.id,
            "artifact": snapshot.artifact,
            "input_digest": input_digest,
            "bindings": [[s, n, m] for s, n, m in snapshot.bindings],
            "resources": {
                "memory_bytes": resources.memory_bytes,
                "timeout_ms": resources.timeout_ms,
                "fuel": resources.fuel,
            },
            "granted": snapshot.granted,
            "idempotency_key": key,
        }
        return task, row

    def _forget(self, task: Task) -> None:
        """Undoes `_accept` for a task that could not be journalled."""
        task.cancel()
        with self._unrecorded_lock:
            self._unrecorded.pop(task.id, None)
        self._input_digests.pop(task.id, None)

    def _watch(self, task: Task) -> None:
        # Runs on the Rust worker that ends the task: only queue the work.
        task.on_end(lambda: self.journal.record_end(lambda: self._record_outcome(task)))

    def _record_outcome(self, task: Task) -> dict[str, Any]:
        result = task.result()
        stdout_digest = self.blobs.put(result.stdout) if result.stdout else EMPTY_DIGEST
        stderr_digest = self.blobs.put(result.stderr) if result.stderr else EMPTY_DIGEST
        return {
            "id": result.id,
            "status": result.status,
            "exit_code": result.exit_code,
            "trap_code": result.trap_code,
            "reason": result.reason,
            "stdout_digest": stdout_digest,
            "stderr_digest": stderr_digest,
            "phases": result.phases,
            "usage": result.usage,
            "view": TaskView(
                result, self._input_digests.get(task.id, ""), stdout_digest, stderr_digest
            ),
        }

    def _outcomes_committed(self, rows: list[dict[str, Any]]) -> None:
        """On the journal thread, after a batch of outcomes is committed: announce the ends."""
        with self._listeners_lock:
            listeners = list(self._listeners)
        for row in rows:
            view: TaskView = row["view"]
            with self._unrecorded_lock:
                callbacks = self._unrecorded.pop(view.result.id, [])
                if len(view.result.stdout) + len(view.result.stderr) <= _RECENT_OUTPUT_BYTES:
                    self._recent[view.result.id] = view
                    if len(self._recent) > _RECENT_VIEWS:
                        self._recent.popitem(last=False)
            self._input_digests.pop(view.result.id, None)
            self.ended += 1
            for callback in callbacks:
                _notify(callback, view)
            for listener in listeners:
                _notify(listener, view.result)

    def recent_view(self, task_id: str) -> TaskView | None:
        """The committed view of a task that ended recently (small outputs), or None."""
        with self._unrecorded_lock:
            return self._recent.get(task_id)

    def when_recorded(self, task_id: str, callback: RecordedCallback) -> bool:
        """Calls `callback(view)` (on the journal thread) once the task's outcome is committed;
        False, and no call, if it already is (or the task is unknown here)."""
        with self._unrecorded_lock:
            callbacks = self._unrecorded.get(task_id)
            if callbacks is None:
                return False
            callbacks.append(callback)
            return True

    def _await_recorded(self, task_id: str) -> None:
        """Blocks until an ended task's outcome is committed (normally well under a millisecond)."""
        committed = threading.Event()
        if self.when_recorded(task_id, lambda _view: committed.set()):
            committed.wait(_RECORD_WAIT_S)

    def live(self, task_id: str) -> Task | None:
        """The in-memory task, or None when only the journal knows it; `TaskNotFound` if neither."""
        try:
            return self.runtime.task(task_id)
        except TaskNotFound:
            if self.journal.get(task_id) is None:
                raise
            return None

    def view(self, task_id: str, include_output: bool) -> TaskView:
        """The task's current view, from memory or else from the journal."""
        live = self.live(task_id)
        if live is not None:
            result = live.result()
            if result.done:
                # Show an end only once it is durable; then the journal row is authoritative too.
                self._await_recorded(task_id)
            return TaskView(
                result if include_output else replace(result, stdout=b"", stderr=b""),
                self._input_digests.get(task_id) or self._row_input(task_id),
                digest_of(result.stdout) if result.done else "",
                digest_of(result.stderr) if result.done else "",
            )
        row = self.journal.get(task_id)
        assert row is not None  # live() raised otherwise
        return self._view_from_row(row, include_output)

    def _row_input(self, task_id: str) -> str:
        row = self.journal.get(task_id)
        return str(row["input_digest"]) if row else ""

    def _view_from_row(self, row: dict[str, Any], include_output: bool) -> TaskView:
        def output(digest: str) -> bytes:
            return self.blobs.get(digest) if include_output and digest else b""

        result = TaskResult(
            id=row["id"],
            artifact=row["artifact"],
            status=row["status"],
            exit_code=row["exit_code"],
            trap_code=row["trap_code"],
            reason=row["reason"],
            stdout=output(row["stdout_digest"]),
            stderr=output(row["stderr_digest"]),
            phases=row["phases"],
            usage=row["usage"],
            granted=row["granted"],
            bindings=[tuple(b) for b in row["bindings"]],  # type: ignore[misc]
        )
        return TaskView(result, row["input_digest"], row["stdout_digest"], row["stderr_digest"])

    def list_page(self, after: int, limit: int) -> tuple[list[TaskView], int, bool]:
        """Known tasks, oldest first, a page at a time: up to `limit` after journal position
        `after`, with live status where in memory: (views, the last one's position, whether
        more follow)."""
        rows = self.journal.page(after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1][0] if rows else after
        return [self._listed(row) for _, row in rows], last, more

    def _listed(self, row: dict[str, Any]) -> TaskView:
        """A journal row as listed: with the live status where the task is in memory."""
        try:
            live = self.runtime.task(row["id"])
        except TaskNotFound:
            return self._view_from_row(row, include_output=False)
        result = replace(live.result(), stdout=b"", stderr=b"")
        if result.done and row["status"] in ("queued", "running"):
            self._await_recorded(row["id"])  # list an end only once it is durable
        return TaskView(result, row["input_digest"], row["stdout_digest"], row["stderr_digest"])

    def cancel(self, task_id: str) -> bool:
        """Cancels a live task; False if it had ended (in memory or only in the journal)."""
        if self.live(task_id) is None:
            return False
        return self.runtime.cancel_task(task_id)

    # -- notifications ----------------------------------------------------------------------
    def subscribe(self, listener: EndListener) -> Callable[[], None]:
        """Calls `listener(result)` (on the journal thread) as each task ends; returns unsubscribe."""
        with self._listeners_lock:
            self._listeners.add(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                self._listeners.discard(listener)

        return unsubscribe

    # -- lifecycle --------------------------------------------------------------------------
    def drain(self, grace: float) -> None:
        """Stops accepting, lets running tasks finish for `grace` s, cancels the rest and
        commits every outcome to the journal."""
        self.runtime.close(grace)
        self.journal.flush()

    def close(self) -> None:
        """Closes the journal (after `drain`)."""
        self.journal.close()


def _notify(callback: Callable[[Any], None], value: Any) -> None:
    try:
        callback(value)
    except Exception:  # a broken listener must not stop the journal thread
        log.exception("a task-end notification failed")
