"""The daemon's node layer: the embedded runtime plus what a long-lived server adds to it, and
the one place a task's end goes through.

It owns the journal (durable record, idempotency keys, results after a restart), the blob store
(uploaded inputs, large outputs) and the `vyr-journal` thread: the node's one task-ended path.
That thread takes outcomes from the core's ended feed (waiting in Rust, without the GIL) together
with the accept rows queued by submits, commits both in one transaction, and only then tells
waiters, the recent-results cache and telemetry. So nothing a client was told can be
contradicted by the journal after a crash. If a commit fails (a full disk), the batch is kept
and retried until it succeeds; accepts in it fail at once with `StorageError`.

Methods are synchronous and may touch disk: the servicer calls the slow ones through
`asyncio.to_thread`; `submit_inline` only queues and may run on the event loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vyr.blobs import EMPTY_DIGEST, BlobStore, BlobWriter, digest_of
from vyr.errors import IdempotencyConflict, StorageError, TaskNotFound, VyrError
from vyr.journal import Accepted, Journal, output_in_row
from vyr.receipts.issuer import Provenance, check_ended
from vyr.runtime import Runtime, Task
from vyr.types import Artifact, State, StateBinding, TaskResult, TaskSpec

if TYPE_CHECKING:
    from vyr.receipts.node_key import NodeKey

log = logging.getLogger("vyr.server")

RecordedCallback = Callable[[TaskResult], None]
Committed = Callable[[BaseException | None], None]
_BATCH = 512
_POLL_S = 0.5  # how often an idle loop looks at its stop flag
_RETRY_S = 1.0  # after a failed commit (e.g. a full disk)
_RECORD_WAIT_S = 10.0
# Recently recorded tasks kept in memory, so the WaitTask or GetTask that usually follows an end
# needs no journal read (their results when the output is small, else only the id).
_RECENT = 4096
_RECENT_OUTPUT_BYTES = 64 << 10
# Beyond the state cap, what an uploaded archive may add: tar's 512-byte headers and padding
# (about 1 KiB per file; a state of many tiny files is best sent gzipped).
STATE_ARCHIVE_OVERHEAD = 64 << 20


class _Pending:
    """An accept row waiting for the loop, and who to tell once it is committed."""

    __slots__ = ("row", "done")

    def __init__(self, row: Accepted, done: Committed) -> None:
        self.row = row
        self.done = done


class Node:
    """A runtime rooted at `home`, with its journal, blob store and task-ended loop."""

    def __init__(self, home: str | Path | None = None, **limits: Any) -> None:
        # Streams are always on in the daemon (their history starts with it); export per
        # OTEL_*. This node consumes the runtime's ended feed itself (the journal comes first).
        self.runtime = Runtime(home, telemetry=True, end_consumer=False, **limits)
        self.home = self.runtime.home
        self.journal = Journal(self.home / "journal.db")
        self.blobs = BlobStore(self.home / "blobs")
        # Archives being streamed to clients; any left here were a dead process's.
        self._exports = self.home / "exports"
        shutil.rmtree(self._exports, ignore_errors=True)
        self._exports.mkdir(mode=0o700)
        self.accepted = 0
        self.ended = 0
        self._lock = threading.Lock()
        self._key_lock = threading.Lock()
        self._pending: list[_Pending] = []
        # Accepted tasks whose end is not committed yet -> callbacks for when it is.
        self._unrecorded: dict[str, list[RecordedCallback]] = {}
        self._recorded: OrderedDict[str, TaskResult | None] = OrderedDict()
        self._processed = 0
        self._provenance_texts: dict[str, str] = {}  # artifact digest -> provenance JSON
        self._replay_inputs: list[bytes] = []  # inline inputs of deterministic tasks, to store
        self._progress = threading.Condition()
        self._stopped = False
        self._observer = self.runtime.telemetry()
        self._observer.feeds.append(self.flush)
        if self.journal.interrupted:
            log.warning(
                "%d task(s) left queued or running by the previous process were marked failed"
                " (node_restarted)",
                self.journal.interrupted,
            )
        self._thread = threading.Thread(target=self._loop, name="vyr-journal", daemon=True)
        self._thread.start()

    # -- what the servicer passes through ---------------------------------------------------
    def limits(self) -> dict[str, int]:
        """The node's effective limits."""
        return self.runtime.limits()

    def put_artifact(
        self, digest: str, manifest: bytes, signature: bytes, module: bytes
    ) -> Artifact:
        """Verifies, compiles and stores an artifact."""
        return self.runtime.put_artifact(digest, manifest, signature, module)

    def list_artifacts(self) -> list[Artifact]:
        """Stored artifacts."""
        return self.runtime.list_artifacts()

    def create_state(self, name: str, class_: str, content_digest: str | None = None) -> State:
        """Creates an ephemeral state, empty or filled from an uploaded archive blob."""
        source = self.blobs.path(content_digest) if content_digest else None
        return self.runtime.create_state(name, class_, source=source)

    def state_content_writer(self) -> BlobWriter:
        """A streamed upload of a state archive: up to the state cap plus archive overhead."""
        return self.blobs.writer(self.limits()["max_state_bytes"] + STATE_ARCHIVE_OVERHEAD)

    def export_state(self, state: str) -> tuple[Path, State]:
        """Writes a state's committed content to a temp archive (the caller removes it)."""
        archive = self._exports / f"{os.getpid()}-{os.urandom(8).hex()}.tar"
        try:
            return archive, self.runtime.export_state(state, archive)
        except BaseException:
            archive.unlink(missing_ok=True)
            raise

    def bind_state(self, task_id: str, binding: StateBinding) -> None:
        """Binds a state to a task that has not started."""
        self.runtime.bind_state(task_id, binding.state, binding.mode, binding.path)

    def list_states(self) -> list[State]:
        """Live states."""
        return self.runtime.list_states()

    def trust_add(self, public_key_text: str) -> str:
        """Trusts a public key; returns its key id."""
        return self.runtime.trust_add(public_key_text)

    def trust_list(self) -> list[tuple[str, str]]:
        """Trusted keys as (key id, public key text)."""
        return self.runtime.trust_list()

    def trust_remove(self, key_id: str) -> None:
        """Stops trusting a key."""
        self.runtime.trust_remove(key_id)

    def put_input(self, data: bytes, expected_digest: str | None) -> str:
        """Stores uploaded input bytes; returns their digest."""
        return self.blobs.put(data, expected_digest)

    def telemetry(self) -> Any:
        """The node's telemetry observer (trace and metric histories)."""
        return self._observer

    # -- tasks ------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec, idempotency_key: str = "") -> tuple[str, bool]:
        """Accepts and journals a task (its input may be a stored blob, by `input_digest`);
        returns (task id, whether the key named an earlier task). Blocks until committed."""
        if spec.input_digest and not spec.input:
            spec = _with_input(spec, self.blobs.get(spec.input_digest))
        if not idempotency_key:
            return self._submit_and_wait(spec, "", ""), False
        request = request_digest(spec)
        # Keyed submits are serialised so two racing calls cannot both run the task.
        with self._key_lock:
            earlier = self.journal.for_key(idempotency_key)
            if earlier is not None:
                if earlier.request_digest and earlier.request_digest != request:
                    raise IdempotencyConflict(
                        "idempotency key reused with a different request"
                        f" (key {idempotency_key!r} names task {earlier.task.id})"
                    )
                return earlier.task.id, True
            return self._submit_and_wait(spec, idempotency_key, request), False

    def _submit_and_wait(self, spec: TaskSpec, key: str, request: str) -> str:
        committed = threading.Event()
        failure: list[BaseException | None] = [None]

        def done(error: BaseException | None) -> None:
            failure[0] = error
            committed.set()

        task_id = self.submit_inline(spec, done, idempotency_key=key, request=request)
        committed.wait()
        if failure[0] is not None:
            raise failure[0]
        return task_id

    def submit_inline(
        self, spec: TaskSpec, committed: Committed, *, idempotency_key: str = "", request: str = ""
    ) -> str:
        """Accepts a task and queues its row, without waiting on disk (so it may run on the
        event loop); `committed(error)` is called from the loop once the row is durable (error
        None) or could not be written. Until then the id must not be revealed to anyone."""
        task = self.runtime.submit(spec, publish_end=True)
        snapshot = task.result()
        with self._lock:
            if task.id not in self._recorded:  # it may have ended (and been recorded) already
                self._unrecorded[task.id] = []
            row = Accepted(snapshot, spec.resources, idempotency_key, request)

            def done(error: BaseException | None) -> None:
                if error is not None:
                    task.cancel()
                    committed(StorageError(f"could not journal task {task.id}: {error}"))
                    return
                self.accepted += 1
                committed(None)

            self._pending.append(_Pending(row, done))
            if spec.deterministic and spec.input:
                # Kept by digest (written by the journal loop, off the event loop), so
                # `vyr receipt replay` of a deterministic task finds its input in the home.
                self._replay_inputs.append(spec.input)
        self.runtime.wake_ended()
        return task.id

    # -- the task-ended loop ----------------------------------------------------------------
    def _loop(self) -> None:
        ended: list[TaskResult] = []
        accepted: list[_Pending] = []
        closed = False
        while True:
            if not closed:
                outcomes, closed = self.runtime.next_ended(_BATCH, _POLL_S if not ended else 0)
                ended.extend(TaskResult.from_core(outcome) for outcome in outcomes)
            with self._lock:
                accepted.extend(self._pending)
                self._pending.clear()
            if ended or accepted:
                if not self._commit(accepted, ended):
                    accepted.clear()  # told already; the ends stay and are retried
                    time.sleep(_RETRY_S)
                    continue
                self._announce(ended)
                ended, accepted = [], []
            if (closed and not self._pending) or self._stopped:
                return

    def _commit(self, accepted: list[_Pending], ended: list[TaskResult]) -> bool:
        """Commits a batch; False (accepts told of the failure) if it could not be written."""
        with self._lock:
            inputs, self._replay_inputs = self._replay_inputs, []
        try:
            for data in inputs:
                self.blobs.put(data)
            for result in ended:
                if not output_in_row(result):
                    self.blobs.put(result.stdout)
                    self.blobs.put(result.stderr)
            self.journal.commit([item.row for item in accepted], ended, self._provenance(ended))
        except (OSError, VyrError, Exception) as error:  # sqlite3.Error is an Exception
            log.error("journal: could not commit %d end(s), %d accept(s): %s", len(ended),
                      len(accepted), error)  # fmt: skip
            for item in accepted:
                item.done(error)
            with self._lock:
                self._replay_inputs[:0] = inputs  # written with the next commit
            return False
        for item in accepted:
            item.done(None)
        return True

    def _provenance(self, ended: list[TaskResult]) -> dict[str, str]:
        """What each ended task's receipt needs beyond its result (one cached text per
        artifact: a dict lookup per task, no signing; receipts are made on request)."""
        known: dict[str, str] = {}
        for result in ended:
            text = self._provenance_texts.get(result.artifact)
            if text is None:
                try:
                    text = self.runtime.receipts.provenance(result.artifact).to_json()
                except Exception:  # e.g. a rejected task of an unknown artifact: no receipt
                    text = ""
                self._provenance_texts[result.artifact] = text
            known[result.id] = text
        return known

    def _announce(self, results: list[TaskResult]) -> None:
        """After the commit: wake the waiters, remember the results, feed telemetry."""
        # Taken before the waiters wake: a task's spans end within the call that waited for it.
        delivered_ns = time.time_ns()
        for result in results:
            small = len(result.stdout) + len(result.stderr) <= _RECENT_OUTPUT_BYTES
            with self._lock:
                callbacks = self._unrecorded.pop(result.id, [])
                self._recorded[result.id] = result if small else None
                if len(self._recorded) > _RECENT:
                    self._recorded.popitem(last=False)
            self.ended += 1
            for callback in callbacks:
                _notify(callback, result)
        self._observer.ended(results, delivered_ns)
        with self._progress:
            self._processed += len(results)
            self._progress.notify_all()

    def flush(self, timeout_s: float = _RECORD_WAIT_S) -> bool:
        """Waits until every task that ended so far is committed and announced."""
        target = self.runtime.ended_published()
        deadline = time.monotonic() + timeout_s
        with self._progress:
            while self._processed < target and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(left)
        return True

    # -- reading tasks ----------------------------------------------------------------------
    def recent(self, task_id: str) -> TaskResult | None:
        """The committed result of a task that ended recently (small outputs), or None."""
        with self._lock:
            return self._recorded.get(task_id)

    def when_recorded(self, task_id: str, callback: RecordedCallback) -> bool:
        """Calls `callback(result)` (on the loop) once the task's end is committed; False, and
        no call, if it already is (or the task is unknown here)."""
        with self._lock:
            callbacks = self._unrecorded.get(task_id)
            if callbacks is None:
                return False
            callbacks.append(callback)
            return True

    def _await_recorded(self, task_id: str) -> None:
        """Blocks until an ended task's end is committed (normally well under a millisecond)."""
        committed = threading.Event()
        if self.when_recorded(task_id, lambda _result: committed.set()):
            committed.wait(_RECORD_WAIT_S)

    def _live(self, task_id: str) -> Task | None:
        try:
            return self.runtime.task(task_id)
        except TaskNotFound:
            return None

    def view(self, task_id: str, include_output: bool) -> TaskResult:
        """The task as it is now, from memory or else from the journal; an end is shown only
        once it is durable."""
        live = self._live(task_id)
        if live is not None:
            result = live.result()
            if not result.done:
                return result
            self._await_recorded(task_id)
            return result if include_output else result.without_output()
        entry = self.journal.get(task_id)
        if entry is None:
            raise TaskNotFound(f"unknown task {task_id}")
        if not include_output:
            return entry.task.without_output()
        if entry.output_in_blobs:
            return _with_output(
                entry.task,
                self.blobs.get(entry.task.stdout_digest or EMPTY_DIGEST),
                self.blobs.get(entry.task.stderr_digest or EMPTY_DIGEST),
            )
        return entry.task

    def list_page(self, after: int, limit: int) -> tuple[list[TaskResult], int, bool]:
        """Known tasks, oldest first, a page at a time: up to `limit` after journal position
        `after`, with live status where in memory: (tasks, the last one's position, whether
        more follow)."""
        entries = self.journal.page(after, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        last = entries[-1].seq if entries else after
        listed = []
        for entry in entries:
            live = self._live(entry.task.id)
            if live is None:
                listed.append(entry.task.without_output())
                continue
            result = live.result().without_output()
            if result.done and entry.task.status in ("queued", "running"):
                self._await_recorded(entry.task.id)  # list an end only once it is durable
            listed.append(result)
        return listed, last, more

    # -- receipts (docs/receipts.md) --------------------------------------------------------
    def node_key(self) -> NodeKey:
        """The node's receipt-signing identity."""
        return self.runtime.node_key()

    def task_receipt(self, task_id: str) -> bytes:
        """An ended task's receipt, built from its journal row (so the same bytes before and
        after a restart, for as long as the journal keeps the task)."""
        live = self._live(task_id)
        if live is not None:
            # Only "has it ended?" here: a snapshot taken as the task ends may say so before it
            # carries the digests; the journal row the receipt is built from always has them.
            if not live.result().done:
                check_ended(live.result())
            self._await_recorded(task_id)
        entry = self.journal.get(task_id)
        if entry is None:
            raise TaskNotFound(f"unknown task {task_id}")
        issuer = self.runtime.receipts
        return issuer.receipt(entry.task, Provenance.from_json(entry.provenance), entry.resources)

    def cancel(self, task_id: str) -> bool:
        """Cancels a live task; False if it had ended (in memory or only in the journal)."""
        if self._live(task_id) is None:
            if self.journal.get(task_id) is None:
                raise TaskNotFound(f"unknown task {task_id}")
            return False
        return self.runtime.cancel_task(task_id)

    # -- lifecycle --------------------------------------------------------------------------
    def drain(self, grace: float) -> None:
        """Stops accepting, lets running tasks finish for `grace` s, cancels the rest and
        commits every end to the journal."""
        self.runtime.close(grace)  # closes the ended feed once every task has ended
        self._thread.join(_RECORD_WAIT_S)

    def close(self) -> None:
        """Stops the loop and closes the journal (after `drain`)."""
        self._stopped = True
        self.runtime.wake_ended()
        self._thread.join(_RECORD_WAIT_S)
        self.journal.close()


def request_digest(spec: TaskSpec) -> str:
    """A digest of what a submit asked for, so an idempotency key reused for another request
    is told apart: artifact, input, args, env, bindings, resources and determinism."""
    canonical: dict[str, Any] = {
        "artifact": spec.artifact_digest,
        "input": spec.input_digest or digest_of(spec.input),
        "args": list(spec.args) if spec.args is not None else None,
        "env": sorted(spec.env.items()),
        "bindings": [[b.state, b.mode, b.path] for b in spec.state_bindings],
        "resources": [spec.resources.memory_bytes, spec.resources.timeout_ms, spec.resources.fuel],
    }
    if spec.deterministic:  # only when set: digests of rows from before the flag stay valid
        canonical["deterministic"] = True
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def _with_input(spec: TaskSpec, data: bytes) -> TaskSpec:
    import dataclasses

    return dataclasses.replace(spec, input=data)


def _with_output(result: TaskResult, stdout: bytes, stderr: bytes) -> TaskResult:
    import dataclasses

    return dataclasses.replace(result, stdout=stdout, stderr=stderr)


def _notify(callback: Callable[[Any], None], value: Any) -> None:
    try:
        callback(value)
    except Exception:  # a broken waiter must not stop the task-ended loop
        log.exception("a task-end notification failed")
