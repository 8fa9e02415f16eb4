"""`vyr.Runtime`: the embedded node, in-process, no daemon. Methods follow the seed's verbs."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vyr import _core, _exit
from vyr.config import default_home
from vyr.dispatch import EndDispatcher
from vyr.errors import VyrError
from vyr.telemetry.config import export_configured
from vyr.types import Artifact, Resources, State, StateBinding, TaskResult, TaskSpec

if TYPE_CHECKING:
    from vyr.receipts.issuer import ReceiptIssuer
    from vyr.receipts.node_key import NodeKey
    from vyr.telemetry.hub import Gap
    from vyr.telemetry.metrics import MetricPoint
    from vyr.telemetry.observer import TaskObserver
    from vyr.telemetry.pipeline import Telemetry
    from vyr.telemetry.records import SpanRecord


class Task:
    """A submitted task: wait for it, read its status, cancel it."""

    __slots__ = ("_handle",)

    def __init__(self, handle: _core.TaskHandle) -> None:
        self._handle = handle

    @property
    def id(self) -> str:
        """The task id."""
        return self._handle.id

    @property
    def status(self) -> str:
        """The current status."""
        return self._handle.status

    def wait(self, timeout: float | None = None) -> TaskResult:
        """Blocks until the task ends (raises `WaitTimeout` after `timeout` seconds)."""
        return TaskResult.from_core(self._handle.wait(timeout))

    def result(self) -> TaskResult:
        """The current snapshot, without waiting."""
        return TaskResult.from_core(self._handle.snapshot())

    def cancel(self) -> None:
        """Requests cancellation (queued or running)."""
        self._handle.cancel()

    def __repr__(self) -> str:
        return f"Task({self.id!r}, status={self.status!r})"


class Runtime:
    """An embedded VYR node rooted at `home` (default: `VYR_HOME` or the XDG data dir).

    >>> with Runtime() as node:  # doctest: +SKIP
    ...     result = node.run("sha256:...", b"input")
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        telemetry: Telemetry | bool | None = None,
        end_consumer: bool = True,
        **limits: Any,
    ) -> None:
        self.home = Path(home) if home is not None else default_home()
        self._core = _core.Runtime(str(self.home), **limits)
        # Closed at exit if not before: its workers call Python (see vyr/_exit.py).
        _exit.close_at_exit(self, _exit.NODES)
        # Telemetry: None follows OTEL_* (off unless an exporter is configured), True also
        # keeps the stream histories from the start, a `Telemetry` exports through it.
        self._observer: TaskObserver | None = None
        self._dispatcher: EndDispatcher | None = None
        # False: the owner consumes the ended feed itself (`next_ended`), as the daemon's
        # journal does, and hands the results to the observer; no dispatcher thread here.
        self._end_consumer = end_consumer
        self._receipts: ReceiptIssuer | None = None
        if telemetry or (telemetry is None and export_configured()):
            self.telemetry(telemetry, streams=telemetry is True)

    # -- artifacts --------------------------------------------------------------------------
    def put_artifact(
        self, digest: str, manifest: bytes, signature: bytes, module: bytes
    ) -> Artifact:
        """Verifies (digest, signature by a trusted key, imports), compiles and stores."""
        try:
            stored_digest, manifest_text = self._core.put_artifact(
                digest, manifest, signature, module
            )
        except VyrError as error:
            if self._observer is not None:
                self._observer.artifact_refused(error)
            raise
        artifact = _artifact(stored_digest, manifest_text)
        if self._observer is not None:
            self._observer.artifact_stored(artifact)
        return artifact

    def put_module_file(
        self,
        module_path: str | os.PathLike[str],
        manifest_path: str | os.PathLike[str] | None = None,
        signature_path: str | os.PathLike[str] | None = None,
    ) -> Artifact:
        """Puts MODULE with MODULE.manifest.json and MODULE.sig (as `vyr sign` writes them)."""
        from vyr.keys import read_signed_module

        return self.put_artifact(*read_signed_module(module_path, manifest_path, signature_path))

    def list_artifacts(self) -> list[Artifact]:
        """Stored artifacts."""
        return [_artifact(d, m) for d, m in self._core.list_artifacts()]

    def artifact_parts(self, digest: str) -> tuple[bytes, bytes, bytes]:
        """(module, manifest, signature) of a stored artifact."""
        return self._core.artifact_parts(digest)

    # -- tasks ------------------------------------------------------------------------------
    def submit_task(
        self,
        artifact_digest: str,
        input_ref: bytes = b"",
        state_bindings: Iterable[StateBinding | str] = (),
        resources: Resources | None = None,
        *,
        args: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        deterministic: bool = False,
    ) -> Task:
        """Accepts a task and returns at once. `input_ref` is the task's stdin."""
        spec = TaskSpec.of(
            artifact_digest, input_ref, state_bindings, resources, args, env, deterministic
        )
        return self.submit(spec)

    def run(
        self,
        artifact_digest: str,
        input_ref: bytes = b"",
        state_bindings: Iterable[StateBinding | str] = (),
        resources: Resources | None = None,
        *,
        args: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        deterministic: bool = False,
    ) -> TaskResult:
        """Submits and waits, in one call: the task runs on this thread (the GIL released),
        with the same queueing, limits and state ordering as `submit_task(...).wait()`."""
        spec = TaskSpec.of(
            artifact_digest, input_ref, state_bindings, resources, args, env, deterministic
        )
        return self.run_spec(spec)

    def submit(self, spec: TaskSpec, *, publish_end: bool = False) -> Task:
        """`submit_task` for a ready `TaskSpec`. `publish_end`: deliver its outcome on the
        ended feed (`next_ended`) even when telemetry does not need it."""
        observer = self._observer
        if observer is None:
            return Task(self._core.submit_task(spec, publish_end=publish_end))
        context = observer.submitting()
        try:
            handle = self._core.submit_task(spec, publish_end=publish_end or context is not None)
        except VyrError as error:
            observer.refused(context, error)
            raise
        observer.submitted(context, handle.id)
        return Task(handle)

    def run_spec(self, spec: TaskSpec) -> TaskResult:
        """`run` for a ready `TaskSpec`."""
        observer = self._observer
        if observer is None:
            return TaskResult.from_core(self._core.run_task(spec))
        context = observer.submitting()
        try:
            outcome = self._core.run_task(spec, publish_end=context is not None)
        except VyrError as error:
            observer.refused(context, error)
            raise
        # The id is known only now; the observer pairs it with the end it may have had already.
        observer.submitted(context, outcome.id)
        return TaskResult.from_core(outcome)

    def cancel_task(self, task_id: str) -> bool:
        """Cancels a queued or running task; False if it had already ended."""
        return self._core.cancel_task(task_id)

    def task(self, task_id: str) -> Task:
        """A remembered task by id."""
        return Task(self._core.task(task_id))

    def wait_task(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Waits for a task by id."""
        return self.task(task_id).wait(timeout)

    def list_tasks(self) -> list[TaskResult]:
        """Remembered tasks, oldest first, without their output (`task(id).result()` has it);
        the same as `vyr.Client.list_tasks`, where a listing must not carry every output."""
        return [
            TaskResult.from_core(h.snapshot()).without_output() for h in self._core.list_tasks()
        ]

    # -- state ------------------------------------------------------------------------------
    def create_state(
        self,
        name: str,
        class_: str = "ephemeral",
        *,
        source: str | os.PathLike[str] | None = None,
    ) -> State:
        """Creates an ephemeral state (freed after its last task and the linger), empty or
        filled from `source`: a directory, or a `.tar`/`.tar.gz` file. Content leaving the
        state, device nodes and FIFOs are refused (`InvalidArchive`), as is content over the
        node's state caps (`CapacityExceeded`); a refused fill leaves nothing behind."""
        path = None if source is None else os.fspath(source)
        return _state(self._core.create_state(name, class_, path))

    def export_state(self, state: str, out: str | os.PathLike[str]) -> State:
        """Writes a state's committed content to `out`: a path ending in `.tar` gets a
        deterministic archive, any other a directory (created if missing; an existing one must
        be empty). Waits for earlier writers, like a read-only task. Returns the state as
        exported (its `digest` is the exported tree's)."""
        return _state(self._core.export_state(state, os.fspath(out)))

    def bind_state(
        self, task_id: str, state_id: str, mode: str = "ro", path: str | None = None
    ) -> None:
        """Binds a state (id or name) to a task that has not started, seen by the guest at
        `path` (default `/state/NAME`)."""
        self._core.bind_state(task_id, StateBinding(state_id, mode, path))  # type: ignore[arg-type]

    def list_states(self) -> list[State]:
        """Live states."""
        return [_state(raw) for raw in self._core.list_states()]

    # -- trust ------------------------------------------------------------------------------
    def trust_add(self, public_key_text: str) -> str:
        """Trusts a public key, given as the text of a `KEY.pub` file: SubjectPublicKeyInfo
        PEM (as `vyr keygen` and `openssl pkey -pubout` write it) or legacy hex; returns its key
        id. A private key, another algorithm or a weak key raises `InvalidKey`."""
        from vyr.keys import public_key_hex

        return self._core.trust_add(public_key_hex(public_key_text, "the key given"))

    def trust_list(self) -> list[tuple[str, str]]:
        """Trusted keys as (key id, public key text)."""
        return self._core.trust_list()

    def trust_remove(self, key_id: str) -> None:
        """Stops trusting a key (its artifacts no longer run)."""
        self._core.trust_remove(key_id)

    def limits(self) -> dict[str, int]:
        """The node's effective limits."""
        return dict(self._core.limits())

    # -- receipts (docs/receipts.md) ----------------------------------------------------------
    def node_key(self) -> NodeKey:
        """This node's receipt-signing identity (`<home>/node.key`, made at first use)."""
        return self.receipts.node_key()

    def task_receipt(self, task_id: str) -> bytes:
        """The receipt of an ended task (a DSSE envelope signed by the node key), while the
        node remembers the task; `TaskNotEnded` before it ended."""
        from vyr.receipts.issuer import check_ended

        task = self.task(task_id)
        result = task.result()
        if result.done:  # its outcome, digests included (a snapshot may race the end)
            result = task.wait(10.0)
        check_ended(result)
        return self.receipts.receipt(result, self.receipts.provenance(result.artifact), None)

    @property
    def receipts(self) -> ReceiptIssuer:
        """This node's receipt issuer (made on first use: no task pays for it)."""
        if self._receipts is None:
            from vyr.receipts.issuer import ReceiptIssuer

            engine = getattr(self._core, "engine", None)
            facts = engine() if engine is not None else ("unknown", None)
            self._receipts = ReceiptIssuer(
                self.home, lambda digest: self.artifact_parts(digest)[1], facts
            )
        return self._receipts

    # -- observation ------------------------------------------------------------------------
    def telemetry(
        self, telemetry: Telemetry | bool | None = None, *, streams: bool = True
    ) -> TaskObserver:
        """This node's telemetry hook, made on first use (docs/telemetry.md). `streams` keeps
        the trace and metric histories from now on (what the streams read)."""
        if self._observer is None:
            from vyr.telemetry import observe

            self._observer = observe(
                self.list_artifacts, telemetry, streams, self._core.task_counts
            )
            if self._end_consumer:
                self._dispatcher = EndDispatcher(self._core, [self._observer.ended])
                self._observer.feeds.append(self._dispatcher.flush)
        elif streams:
            self._observer.enable_streams()
        return self._observer

    def stream_traces(
        self,
        task_ids: Iterable[str] = (),
        artifact_digest: str = "",
        statuses: Iterable[str] = (),
        span_names: Iterable[str] = (),
        *,
        after: int | None = 0,
        follow: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[SpanRecord | Gap]:
        """Spans of ended tasks: those the history holds after cursor `after` (None: none),
        then, with `follow`, live ones until `stop` is set. A `Gap` marks spans this reader
        lost. The history starts when the node's telemetry does (the first stream, at latest).
        """
        from vyr.telemetry.streams import TraceFilter, iterate

        wanted = TraceFilter.of(task_ids, artifact_digest, statuses, span_names)
        return iterate(self.telemetry().traces, wanted.accepts, wanted.spans, after, follow, stop)

    def stream_metrics(
        self,
        names: Iterable[str] = (),
        *,
        interval_ms: int = 0,
        after: int | None = None,
        follow: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[MetricPoint | Gap]:
        """The metric values now, then (with `follow`) a snapshot per interval until `stop`
        is set; `after` first replays the snapshots the history holds after that cursor."""
        from vyr.telemetry.streams import MetricFilter, current_snapshot, iterate, spaced

        observer = self.telemetry()
        wanted = MetricFilter(frozenset(names), interval_ms)
        yield from current_snapshot(observer, wanted) if after is None else ()
        yield from iterate(
            observer.snapshots, spaced(interval_ms), wanted.points, after, follow, stop
        )

    # -- the ended feed (for a node that consumes it itself) --------------------------------
    def next_ended(self, max_outcomes: int, timeout_s: float | None) -> tuple[list[Any], bool]:
        """Outcomes (`vyr._core.TaskOutcome`) of tasks submitted with `publish_end`, each once:
        waits up to `timeout_s` (without the GIL); also returns whether the node has shut down
        and every outcome was taken. Only for a runtime made with `end_consumer=False`."""
        return self._core.next_ended(max_outcomes, timeout_s)

    def wake_ended(self) -> None:
        """Wakes the caller of `next_ended` without an outcome."""
        self._core.wake_ended()

    def ended_published(self) -> int:
        """How many outcomes the ended feed has had to deliver so far."""
        return self._core.ended_published()

    # -- lifecycle --------------------------------------------------------------------------
    def close(self, grace: float = 0.0) -> None:
        """Stops accepting tasks, lets running ones finish for `grace` s, cancels the rest."""
        self._core.shutdown(grace)
        if self._dispatcher is not None:
            # Shut down, the core has closed its feed: the dispatcher delivers what is left.
            self._dispatcher.stop(_exit.remaining(10.0))
        if self._observer is not None:
            self._observer.flush()
            self._observer.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _artifact(digest: str, manifest_text: str) -> Artifact:
    manifest = json.loads(manifest_text)
    return Artifact(
        digest=digest,
        name=manifest["name"],
        size=manifest["module"]["size"],
        signer=manifest["signer"],
        manifest=manifest,
    )


def _state(raw: Mapping[str, Any]) -> State:
    return State(
        id=raw["id"],
        name=raw["name"],
        cls=raw["class"],
        bound_tasks=raw["bound_tasks"],
        bytes=raw["bytes"],
        digest=raw.get("digest", ""),
        files=raw.get("files", 0),
    )
