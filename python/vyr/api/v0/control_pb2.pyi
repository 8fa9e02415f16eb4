from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_RO: _ClassVar[Mode]
    MODE_RW: _ClassVar[Mode]
MODE_UNSPECIFIED: Mode
MODE_RO: Mode
MODE_RW: Mode

class PutArtifactRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ArtifactHeader(_message.Message):
    __slots__ = ("digest", "manifest", "signature", "size")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    manifest: bytes
    signature: bytes
    size: int
    def __init__(self, digest: _Optional[str] = ..., manifest: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("digest", "name", "size", "signer", "manifest_json")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    digest: str
    name: str
    size: int
    signer: str
    manifest_json: str
    def __init__(self, digest: _Optional[str] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., signer: _Optional[str] = ..., manifest_json: _Optional[str] = ...) -> None: ...

class ListArtifactsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class PutInputRequest(_message.Message):
    __slots__ = ("chunk", "digest", "state_content")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    digest: str
    state_content: bool
    def __init__(self, chunk: _Optional[bytes] = ..., digest: _Optional[str] = ..., state_content: _Optional[bool] = ...) -> None: ...

class PutInputResponse(_message.Message):
    __slots__ = ("digest", "size")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    size: int
    def __init__(self, digest: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class InputRef(_message.Message):
    __slots__ = ("inline", "digest")
    INLINE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    inline: bytes
    digest: str
    def __init__(self, inline: _Optional[bytes] = ..., digest: _Optional[str] = ...) -> None: ...

class Resources(_message.Message):
    __slots__ = ("memory_bytes", "timeout_ms", "fuel")
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    FUEL_FIELD_NUMBER: _ClassVar[int]
    memory_bytes: int
    timeout_ms: int
    fuel: int
    def __init__(self, memory_bytes: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., fuel: _Optional[int] = ...) -> None: ...

class StateBinding(_message.Message):
    __slots__ = ("state", "mode", "path")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    state: str
    mode: Mode
    path: str
    def __init__(self, state: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., path: _Optional[str] = ...) -> None: ...

class SubmitTaskRequest(_message.Message):
    __slots__ = ("artifact_digest", "input_ref", "state_bindings", "resources", "args", "env", "idempotency_key", "wait", "deterministic")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARTIFACT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    INPUT_REF_FIELD_NUMBER: _ClassVar[int]
    STATE_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    DETERMINISTIC_FIELD_NUMBER: _ClassVar[int]
    artifact_digest: str
    input_ref: InputRef
    state_bindings: _containers.RepeatedCompositeFieldContainer[StateBinding]
    resources: Resources
    args: StringList
    env: _containers.ScalarMap[str, str]
    idempotency_key: str
    wait: bool
    deterministic: bool
    def __init__(self, artifact_digest: _Optional[str] = ..., input_ref: _Optional[_Union[InputRef, _Mapping]] = ..., state_bindings: _Optional[_Iterable[_Union[StateBinding, _Mapping]]] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., args: _Optional[_Union[StringList, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., wait: _Optional[bool] = ..., deterministic: _Optional[bool] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitTaskResponse(_message.Message):
    __slots__ = ("task_id", "existing", "task")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    existing: bool
    task: Task
    def __init__(self, task_id: _Optional[str] = ..., existing: _Optional[bool] = ..., task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class CancelTaskResponse(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    def __init__(self, cancelled: _Optional[bool] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id", "include_output")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    include_output: bool
    def __init__(self, task_id: _Optional[str] = ..., include_output: _Optional[bool] = ...) -> None: ...

class WaitTaskRequest(_message.Message):
    __slots__ = ("task_id", "timeout_ms", "include_output")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    timeout_ms: int
    include_output: bool
    def __init__(self, task_id: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., include_output: _Optional[bool] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "artifact", "status", "exit_code", "trap_code", "reason", "stdout", "stderr", "stdout_digest", "stderr_digest", "phases", "usage_json", "granted", "bindings", "input_digest", "usage", "args", "env", "deterministic")
    class PhasesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TRAP_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STDERR_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    USAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    BINDINGS_FIELD_NUMBER: _ClassVar[int]
    INPUT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    DETERMINISTIC_FIELD_NUMBER: _ClassVar[int]
    id: str
    artifact: str
    status: str
    exit_code: int
    trap_code: str
    reason: str
    stdout: bytes
    stderr: bytes
    stdout_digest: str
    stderr_digest: str
    phases: _containers.ScalarMap[str, int]
    usage_json: str
    granted: Resources
    bindings: _containers.RepeatedCompositeFieldContainer[Binding]
    input_digest: str
    usage: Usage
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    deterministic: bool
    def __init__(self, id: _Optional[str] = ..., artifact: _Optional[str] = ..., status: _Optional[str] = ..., exit_code: _Optional[int] = ..., trap_code: _Optional[str] = ..., reason: _Optional[str] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., stdout_digest: _Optional[str] = ..., stderr_digest: _Optional[str] = ..., phases: _Optional[_Mapping[str, int]] = ..., usage_json: _Optional[str] = ..., granted: _Optional[_Union[Resources, _Mapping]] = ..., bindings: _Optional[_Iterable[_Union[Binding, _Mapping]]] = ..., input_digest: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., deterministic: _Optional[bool] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("wall_ns", "peak_memory_bytes", "fuel_used", "compiled", "cold", "tier")
    WALL_NS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    FUEL_USED_FIELD_NUMBER: _ClassVar[int]
    COMPILED_FIELD_NUMBER: _ClassVar[int]
    COLD_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    wall_ns: int
    peak_memory_bytes: int
    fuel_used: int
    compiled: bool
    cold: bool
    tier: str
    def __init__(self, wall_ns: _Optional[int] = ..., peak_memory_bytes: _Optional[int] = ..., fuel_used: _Optional[int] = ..., compiled: _Optional[bool] = ..., cold: _Optional[bool] = ..., tier: _Optional[str] = ...) -> None: ...

class Binding(_message.Message):
    __slots__ = ("state_id", "name", "mode", "path", "digest_before", "digest_after")
    STATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DIGEST_BEFORE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_AFTER_FIELD_NUMBER: _ClassVar[int]
    state_id: str
    name: str
    mode: Mode
    path: str
    digest_before: str
    digest_after: str
    def __init__(self, state_id: _Optional[str] = ..., name: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., path: _Optional[str] = ..., digest_before: _Optional[str] = ..., digest_after: _Optional[str] = ...) -> None: ...

class CreateStateRequest(_message.Message):
    __slots__ = ("name", "content_digest")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_digest: str
    def __init__(self, name: _Optional[str] = ..., content_digest: _Optional[str] = ..., **kwargs) -> None: ...

class State(_message.Message):
    __slots__ = ("id", "name", "bound_tasks", "bytes", "digest", "files")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_FIELD_NUMBER: _ClassVar[int]
    BOUND_TASKS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    bound_tasks: int
    bytes: int
    digest: str
    files: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., bound_tasks: _Optional[int] = ..., bytes: _Optional[int] = ..., digest: _Optional[str] = ..., files: _Optional[int] = ..., **kwargs) -> None: ...

class ExportStateRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: str
    def __init__(self, state: _Optional[str] = ...) -> None: ...

class StateChunk(_message.Message):
    __slots__ = ("chunk", "state")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    state: State
    def __init__(self, chunk: _Optional[bytes] = ..., state: _Optional[_Union[State, _Mapping]] = ...) -> None: ...

class BindStateRequest(_message.Message):
    __slots__ = ("task_id", "state_id", "mode", "path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    state_id: str
    mode: Mode
    path: str
    def __init__(self, task_id: _Optional[str] = ..., state_id: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., path: _Optional[str] = ...) -> None: ...

class BindStateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStatesResponse(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[State]
    def __init__(self, states: _Optional[_Iterable[_Union[State, _Mapping]]] = ...) -> None: ...

class TrustKey(_message.Message):
    __slots__ = ("key_id", "public_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: str
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[str] = ...) -> None: ...

class TrustAddRequest(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: str
    def __init__(self, public_key: _Optional[str] = ...) -> None: ...

class TrustListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TrustListResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[TrustKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[TrustKey, _Mapping]]] = ...) -> None: ...

class TrustRemoveRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class TrustRemoveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TraceFilter(_message.Message):
    __slots__ = ("task_ids", "artifact_digest", "include_finished", "statuses", "span_names", "after_cursor", "history_only")
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    SPAN_NAMES_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ONLY_FIELD_NUMBER: _ClassVar[int]
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    artifact_digest: str
    include_finished: bool
    statuses: _containers.RepeatedScalarFieldContainer[str]
    span_names: _containers.RepeatedScalarFieldContainer[str]
    after_cursor: int
    history_only: bool
    def __init__(self, task_ids: _Optional[_Iterable[str]] = ..., artifact_digest: _Optional[str] = ..., include_finished: _Optional[bool] = ..., statuses: _Optional[_Iterable[str]] = ..., span_names: _Optional[_Iterable[str]] = ..., after_cursor: _Optional[int] = ..., history_only: _Optional[bool] = ...) -> None: ...

class Gap(_message.Message):
    __slots__ = ("missed", "reason", "cursor")
    MISSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    missed: int
    reason: str
    cursor: int
    def __init__(self, missed: _Optional[int] = ..., reason: _Optional[str] = ..., cursor: _Optional[int] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("trace_id", "span_id", "parent_span_id", "name", "start_unix_nanos", "end_unix_nanos", "attributes", "kind", "status", "status_message", "task_id", "cursor", "attributes_json", "gap")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_UNIX_NANOS_FIELD_NUMBER: _ClassVar[int]
    END_UNIX_NANOS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_unix_nanos: int
    end_unix_nanos: int
    attributes: _containers.ScalarMap[str, str]
    kind: str
    status: str
    status_message: str
    task_id: str
    cursor: int
    attributes_json: str
    gap: Gap
    def __init__(self, trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., parent_span_id: _Optional[str] = ..., name: _Optional[str] = ..., start_unix_nanos: _Optional[int] = ..., end_unix_nanos: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., status_message: _Optional[str] = ..., task_id: _Optional[str] = ..., cursor: _Optional[int] = ..., attributes_json: _Optional[str] = ..., gap: _Optional[_Union[Gap, _Mapping]] = ...) -> None: ...

class MetricFilter(_message.Message):
    __slots__ = ("names", "interval_ms", "after_cursor", "history_only")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ONLY_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    interval_ms: int
    after_cursor: int
    history_only: bool
    def __init__(self, names: _Optional[_Iterable[str]] = ..., interval_ms: _Optional[int] = ..., after_cursor: _Optional[int] = ..., history_only: _Optional[bool] = ...) -> None: ...

class MetricPoint(_message.Message):
    __slots__ = ("name", "value", "unix_nanos", "attributes", "kind", "count", "sum", "min", "max", "cursor", "gap")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIX_NANOS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    unix_nanos: int
    attributes: _containers.ScalarMap[str, str]
    kind: str
    count: int
    sum: float
    min: float
    max: float
    cursor: int
    gap: Gap
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., unix_nanos: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ..., kind: _Optional[str] = ..., count: _Optional[int] = ..., sum: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., cursor: _Optional[int] = ..., gap: _Optional[_Union[Gap, _Mapping]] = ...) -> None: ...

class GetNodeKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeKey(_message.Message):
    __slots__ = ("key_id", "public_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: str
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[str] = ...) -> None: ...

class GetReceiptRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: bytes
    def __init__(self, receipt: _Optional[bytes] = ...) -> None: ...
