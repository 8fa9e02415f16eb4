"""The node's own identity: the ed25519 key that signs its receipts (`<home>/node.key`).

Made at first use with `vyr.keys.generate_key` (PKCS#8 PEM, 0600, and `node.key.pub`), never
taken from an author key: a node vouches for what it ran, an author for what it wrote, and one
key must not be able to do both. Two processes starting on one home at once both end up with
the one key the first wrote (`generate_key` links the file into place, never overwrites).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from vyr.errors import InvalidArgument, InvalidKey
from vyr.receipts.signing import ReceiptSigner

NODE_KEY_NAME = "node.key"
_lock = threading.Lock()


@dataclass(frozen=True)
class NodeKey:
    """A node's public identity: its key id (`sha256:` of the raw public key) and its public
    key as SubjectPublicKeyInfo PEM (what `vyr receipt verify --node-key` takes)."""

    key_id: str
    public_key: str


def node_key_path(home: str | os.PathLike[str]) -> Path:
    """`<home>/node.key`."""
    return Path(home) / NODE_KEY_NAME


def load_node_signer(home: str | os.PathLike[str]) -> ReceiptSigner:
    """The node's signer, the key made first if the home has none. A key file readable by
    others is refused: anyone who can read it can sign receipts in this node's name."""
    from vyr.keys import generate_key

    path = node_key_path(home)
    with _lock:
        if not path.exists():
            try:
                generate_key(path)
            except InvalidArgument:
                if not path.exists():  # not a lost race with another process: a real failure
                    raise
    mode = path.stat().st_mode
    if mode & 0o077:
        error = InvalidKey(f"{path} is readable by others (mode {mode & 0o777:o})")
        error.hint = f"chmod 600 {path}"
        raise error
    return ReceiptSigner.from_key_file(path)


def public_identity(signer: ReceiptSigner) -> NodeKey:
    """The public half of a node signer."""
    from cryptography.hazmat.primitives import serialization

    pem = signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return NodeKey(signer.key_id, pem)
