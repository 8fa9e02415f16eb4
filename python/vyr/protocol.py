"""`vyr.Node`: what the embedded `vyr.Runtime` and the gRPC `vyr.Client` both offer.

The CLI is written against this protocol, so a command works the same embedded or against a
daemon; mypy checks that both classes satisfy it (`python/vyr/cli/_node.py` assigns each to
it). What only one side has (`Client.put_input`, `Runtime.limits`, the ended feed) stays off it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vyr.receipts.node_key import NodeKey
    from vyr.telemetry.hub import Gap
    from vyr.telemetry.metrics import MetricPoint
    from vyr.telemetry.records import SpanRecord
    from vyr.types import Artifact, Resources, State, StateBinding, TaskResult, TaskSpec


class TaskRef(Protocol):
    """A submitted task (`vyr.runtime.Task` or `vyr.client.RemoteTask`)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    def wait(self, timeout: float | None = None) -> TaskResult: ...
    def result(self) -> TaskResult: ...
    def cancel(self) -> None: ...


class Node(Protocol):
    """A VYR node: the seed's seven verbs and what the CLI needs around them."""

    def put_artifact(
        self, digest: str, manifest: bytes, signature: bytes, module: bytes
    ) -> Artifact: ...
    def put_module_file(
        self,
        module_path: str | os.PathLike[str],
        manifest_path: str | os.PathLike[str] | None = None,
        signature_path: str | os.PathLike[str] | None = None,
    ) -> Artifact: ...
    def list_artifacts(self) -> list[Artifact]: ...
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
    ) -> TaskRef: ...
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
    ) -> TaskResult: ...
    def submit(self, spec: TaskSpec) -> TaskRef: ...
    def run_spec(self, spec: TaskSpec) -> TaskResult: ...
    def cancel_task(self, task_id: str) -> bool: ...
    def task(self, task_id: str) -> TaskRef: ...
    def wait_task(self, task_id: str, timeout: float | None = None) -> TaskResult: ...
    def list_tasks(self) -> list[TaskResult]: ...
    def create_state(
        self,
        name: str,
        class_: str = "ephemeral",
        *,
        source: str | os.PathLike[str] | None = None,
    ) -> State: ...
    def export_state(self, state: str, out: str | os.PathLike[str]) -> State: ...
    def bind_state(
        self, task_id: str, state_id: str, mode: str = "ro", path: str | None = None
    ) -> None: ...
    def list_states(self) -> list[State]: ...
    def trust_add(self, public_key_text: str) -> str: ...
    def trust_list(self) -> list[tuple[str, str]]: ...
    def trust_remove(self, key_id: str) -> None: ...
    def node_key(self) -> NodeKey: ...
    def task_receipt(self, task_id: str) -> bytes: ...
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
    ) -> Iterator[SpanRecord | Gap]: ...
    def stream_metrics(
        self,
        names: Iterable[str] = (),
        *,
        interval_ms: int = 0,
        after: int | None = None,
        follow: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[MetricPoint | Gap]: ...
    def close(self) -> None: ...
