"""A checkpoint: the signed head (size and root hash) of a node's receipt log.

Its body is a C2SP tlog-checkpoint note body (c2sp.org/tlog-checkpoint), three lines:

    <origin>
    <tree size, decimal>
    <root hash, standard base64>

signed as a DSSE envelope of type `CHECKPOINT_PAYLOAD_TYPE`. The origin names one log: a
node starts a new log, with a new random origin, each time its batcher starts, so two
checkpoints with one origin always describe one append-only tree.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from vyr.errors import ReceiptInvalid
from vyr.receipts.merkle import HASH_SIZE

CHECKPOINT_PAYLOAD_TYPE = "application/vnd.vyr.checkpoint.v0.1+text"
ORIGIN_PREFIX = "vyr.dev/receipt-log/"
_ORIGIN = re.compile(r"[\x21-\x2a\x2c-\x7e]+")  # printable ASCII, no space, no '+' (C2SP)
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """The head of a receipt log at one size."""

    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> bytes:
        """The note body that gets signed."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.tree_size}\n{root}\n".encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        """A checkpoint from its body; `ReceiptInvalid` unless it is exactly three lines."""
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise ReceiptInvalid("the checkpoint is not ASCII text") from None
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise ReceiptInvalid("the checkpoint is not three lines (origin, size, root hash)")
        origin, size, root = lines[:3]
        if not _ORIGIN.fullmatch(origin):
            raise ReceiptInvalid(f"the checkpoint's origin {origin!r} is malformed")
        if not _SIZE.fullmatch(size) or int(size) >= 2**64:
            raise ReceiptInvalid(f"the checkpoint's tree size {size!r} is malformed")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            root_hash = b""
        if len(root_hash) != HASH_SIZE or base64.b64encode(root_hash).decode() != root:
            raise ReceiptInvalid("the checkpoint's root hash is not 32 bytes in base64")
        return cls(origin, int(size), root_hash)
