"""The one error hierarchy of VYR. Every error a user can see is a `VyrError`.

Each class carries the gRPC status it maps to (by name, so this module imports nothing heavy)
and, where the meaning matches, also subclasses the builtin a Python user would catch. Over gRPC
the class travels by name (`vyr.api.status`), so every class here must keep its name once
released, and a class the daemon raises must be defined here, never next to the code raising it.
"""

from __future__ import annotations


class VyrError(Exception):
    """Base of every VYR error."""

    grpc_status: str = "UNKNOWN"
    hint: str | None = None


class InvalidArgument(VyrError, ValueError):
    """A request was malformed."""

    grpc_status = "INVALID_ARGUMENT"


class InvalidDigest(InvalidArgument):
    """A digest is not `sha256:` followed by 64 lowercase hex digits."""


class DigestMismatch(InvalidArgument):
    """Bytes do not hash to the digest that was claimed for them."""


class InvalidManifest(InvalidArgument):
    """A manifest is malformed, of another version or not in canonical form."""

    hint = "write manifests with 'vyr sign'"


class InvalidKey(InvalidArgument):
    """A key file is malformed, or the key is weak."""


class InvalidModule(InvalidArgument):
    """A module does not compile, or imports what VYR does not provide."""

    hint = "build guests as WASI preview1 commands (e.g. zig cc -target wasm32-wasi)"


class InvalidResources(InvalidArgument):
    """Requested resources are outside the node's limits."""


class InvalidBundle(InvalidArgument):
    """An artifact bundle is not a bundle, or is truncated, corrupt or altered."""

    hint = "export it again with 'vyr artifact export DIGEST... --out BUNDLE'"


class InvalidState(InvalidArgument):
    """A state request is malformed (bad name, class or mode)."""


class InvalidArchive(InvalidArgument):
    """Content to fill a state from (a tar archive or a directory) is refused: an entry
    leaving the state (`..`, an absolute name, an escaping symlink or hard link), a device
    node, FIFO or socket, a path given twice, or not a tar archive at all."""

    hint = "fix the archive or directory; nothing was created"


class ReceiptInvalid(InvalidArgument):
    """A receipt is not one VYR reads: not a DSSE envelope or batched receipt, of another
    payload, statement or predicate type, or with a malformed field."""


class ReceiptMismatch(DigestMismatch):
    """A verified receipt's subject digest differs from the output or state it was checked
    against (the bytes or tree are not what that run produced), or names no such subject."""


class InvalidSignature(VyrError):
    """A signature does not verify for the manifest and key."""

    grpc_status = "PERMISSION_DENIED"


class UntrustedSigner(VyrError):
    """The manifest's signer is not in the node's trust store."""

    grpc_status = "PERMISSION_DENIED"
    hint = "trust the signer's public key with 'vyr trust add KEY.pub'"


class ArtifactTooLarge(VyrError):
    """A module is larger than the node accepts."""

    grpc_status = "RESOURCE_EXHAUSTED"


class InputTooLarge(VyrError):
    """Uploaded input bytes are more than the node accepts (its `max_input_bytes`)."""

    grpc_status = "RESOURCE_EXHAUSTED"


class CapacityExceeded(VyrError):
    """The node is at a limit (queued tasks, state size)."""

    grpc_status = "RESOURCE_EXHAUSTED"


class NotFound(VyrError, LookupError):
    """Something named does not exist."""

    grpc_status = "NOT_FOUND"


class ArtifactNotFound(NotFound):
    """No artifact with that digest is stored."""

    hint = "put it first with 'vyr artifact put MODULE'"


class TaskNotFound(NotFound):
    """No task with that id is known."""


class BlobNotFound(NotFound):
    """No blob (uploaded input, task output) with that digest is stored on this node."""

    hint = "upload the input first (vyr.Client does this for inputs over 1 MiB)"


class StateNotFound(NotFound):
    """No state with that id or name exists."""

    hint = "create it with 'vyr state create NAME'"


class StateFreed(VyrError):
    """The state existed but was freed after its last task (and linger) ended."""

    grpc_status = "FAILED_PRECONDITION"


class ArtifactConflict(VyrError):
    """The module is stored already, under a different manifest."""

    grpc_status = "ALREADY_EXISTS"


class TaskAlreadyStarted(VyrError):
    """A binding was requested for a task that has started or ended."""

    grpc_status = "FAILED_PRECONDITION"


class TaskNotEnded(VyrError):
    """A receipt was asked for a task that has not ended, or that never ended on this node
    (interrupted by a restart): there is no outcome to vouch for."""

    grpc_status = "FAILED_PRECONDITION"
    hint = "wait for it first: 'vyr task wait ID'"


class IdempotencyConflict(VyrError):
    """An idempotency key was reused with a different request than it was first used for."""

    grpc_status = "FAILED_PRECONDITION"
    hint = "use a new idempotency key for a different request"


class ShuttingDown(VyrError):
    """The node is shutting down and accepts no new work."""

    grpc_status = "UNAVAILABLE"


class DaemonRequired(VyrError):
    """The command needs a long-lived node (its result must outlive it), and no daemon serves."""

    grpc_status = "FAILED_PRECONDITION"
    hint = "start one with 'vyr daemon &', or point at one with --endpoint / VYR_ENDPOINT"


class WaitTimeout(VyrError, TimeoutError):
    """Waiting for a task took longer than the caller allowed."""

    grpc_status = "DEADLINE_EXCEEDED"


class StorageError(VyrError, OSError):
    """The node's home could not be read or written."""

    grpc_status = "INTERNAL"


class ConnectionFailed(VyrError):
    """The daemon could not be reached (not running, wrong endpoint, or a failed TLS handshake)."""

    grpc_status = "UNAVAILABLE"
    hint = "is 'vyr daemon' running? check --endpoint / VYR_ENDPOINT"


class AuthenticationFailed(VyrError):
    """The daemon refused the caller's credentials (no bearer token, or a wrong one)."""

    grpc_status = "UNAUTHENTICATED"
    hint = "set VYR_TOKEN_FILE (bearer token) or VYR_CLIENT_CERT/VYR_CLIENT_KEY (mTLS)"


class InternalError(VyrError):
    """A bug in VYR. Please report it with the message."""

    grpc_status = "INTERNAL"


__all__ = [
    name
    for name, value in globals().items()
    if isinstance(value, type) and issubclass(value, VyrError)
]
