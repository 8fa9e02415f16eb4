"""`verify`: is this receipt signed by a key I trust, and is it about these outputs?

Order, as DSSE's protocol has it: the signature first (the statement's own, or the
checkpoint's plus the inclusion proof that leads from the statement to it), then the payload
type, then the statement (its type, predicate type and subjects), then, if asked, the subject
digests against the outputs and states given. Every refusal is a `vyr.errors` class whose
message says what does not match:

- `ReceiptInvalid`: not a receipt, malformed, or of another payload/statement/predicate type;
- `UntrustedSigner`: signed by a key that is not among the trusted ones;
- `InvalidSignature`: no signature verifies (the receipt or its checkpoint was altered), or
  the statement is not in the signed checkpoint;
- `ReceiptMismatch`: a subject's digest differs from the bytes or tree given for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vyr.errors import InvalidArgument, InvalidSignature, ReceiptInvalid, ReceiptMismatch
from vyr.receipts import batched, dsse
from vyr.receipts.checkpoint import CHECKPOINT_PAYLOAD_TYPE, Checkpoint
from vyr.receipts.decode import DecodedReceipt, decode_receipt
from vyr.receipts.merkle import root_from_inclusion
from vyr.receipts.signing import TrustedKeys
from vyr.receipts.statement import subject_digests
from vyr.receipts.tree_digest import ALGORITHM as TREE_ALGORITHM
from vyr.receipts.tree_digest import tree_digest

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# What a subject can be checked against: the bytes themselves, or a path (a file's content,
# or a directory's tree digest).
SubjectValue = bytes | str | os.PathLike[str]


@dataclass(frozen=True)
class LogPosition:
    """Where a batched receipt sits: its checkpoint's log (origin), size and root (hex), and
    the statement's index in it."""

    origin: str
    tree_size: int
    root_hash: str
    log_index: int


@dataclass(frozen=True)
class Verified:
    """A receipt that verified: the statement and who vouches for it.

    - `statement`: the in-toto statement (`predicate` is its predicate);
    - `statement_digest`: `sha256:` of the statement's bytes;
    - `signer`: key id of the trusted key whose signature verified;
    - `form`: `"envelope"` (the statement signed itself) or `"batched"` (via `log`);
    - `checked`: the subject names whose digests were compared with what was given.
    """

    statement: dict[str, Any]
    statement_digest: str
    signer: str
    form: Literal["envelope", "batched"]
    log: LogPosition | None
    checked: tuple[str, ...]

    @property
    def predicate(self) -> dict[str, Any]:
        """The receipt's predicate (docs/receipts.md, "Predicate")."""
        predicate: dict[str, Any] = self.statement["predicate"]
        return predicate


def verify(
    receipt: bytes,
    trusted_public_keys: TrustedKeys | Iterable[str | Ed25519PublicKey],
    *,
    subjects: Mapping[str, SubjectValue] | None = None,
) -> Verified:
    """Verifies a receipt file's bytes against trusted public keys (PEM texts, key objects or
    a `TrustedKeys`) and, with `subjects`, checks that subject's digest for each name given:
    `{"stdout": b"..." or PATH, "state:cache": DIRECTORY}`."""
    trusted = (
        trusted_public_keys
        if isinstance(trusted_public_keys, TrustedKeys)
        else TrustedKeys.from_texts(trusted_public_keys)
    )
    decoded = decode_receipt(receipt)
    log_position = None
    if decoded.batched is None:
        signer = dsse.open_envelope(decoded.signed, trusted, dsse.INTOTO_PAYLOAD_TYPE)
    else:
        signer = dsse.open_envelope(decoded.signed, trusted, CHECKPOINT_PAYLOAD_TYPE)
        log_position = _included(decoded, Checkpoint.parse(decoded.signed.payload))
    statement = decoded.statement()
    checked = _check_subjects(statement, subjects or {})
    return Verified(
        statement,
        "sha256:" + hashlib.sha256(decoded.payload).hexdigest(),
        signer,
        decoded.form,
        log_position,
        checked,
    )


def _included(decoded: DecodedReceipt, checkpoint: Checkpoint) -> LogPosition:
    """Checks that the batched statement is in the (signed) checkpoint's tree."""
    receipt = decoded.batched
    assert receipt is not None
    if receipt.tree_size != checkpoint.tree_size:
        raise ReceiptInvalid(
            f"the inclusion proof is for a tree of {receipt.tree_size}, the checkpoint signs "
            f"one of {checkpoint.tree_size}"
        )
    root = root_from_inclusion(
        receipt.log_index,
        receipt.tree_size,
        batched.statement_leaf(decoded.payload),
        receipt.hashes,
    )
    if root != checkpoint.root_hash:
        raise InvalidSignature(
            f"the statement is not in the signed checkpoint: its inclusion proof (leaf "
            f"{receipt.log_index} of {receipt.tree_size}) leads to root {root.hex()}, the "
            f"checkpoint signs {checkpoint.root_hash.hex()}; the statement or proof was altered"
        )
    return LogPosition(
        checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash.hex(), receipt.log_index
    )


def _check_subjects(
    statement: Mapping[str, Any], given: Mapping[str, SubjectValue]
) -> tuple[str, ...]:
    claimed = subject_digests(statement)
    for name, value in given.items():
        digests = claimed.get(name)
        if digests is None:
            raise ReceiptMismatch(
                f"the receipt has no subject {name!r}; it names {', '.join(sorted(claimed))}"
            )
        algorithm, actual, what = _digest_of(value, name)
        expected = digests.get(algorithm)
        if expected is None:
            raise ReceiptMismatch(
                f"{name}: {what} was given, but the receipt gives its subject only as "
                f"{', '.join(sorted(digests))}, not {algorithm}"
            )
        if actual != expected:
            raise ReceiptMismatch(
                f"{name}: {what} hashes to {algorithm} {actual}, the receipt says {expected}"
            )
    return tuple(given)


def _digest_of(value: SubjectValue, name: str) -> tuple[str, str, str]:
    """(algorithm, hex digest, what it is) of a given subject value."""
    if isinstance(value, bytes):
        return "sha256", hashlib.sha256(value).hexdigest(), f"the given {len(value)}-byte value"
    path = Path(value)
    if path.is_dir():
        return TREE_ALGORITHM, tree_digest(path), f"directory {path}"
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"{name}: cannot read {path}: {error.strerror}") from None
    return "sha256", hashlib.sha256(content).hexdigest(), f"file {path}"
