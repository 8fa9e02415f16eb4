"""The keys receipts are signed and checked with: ed25519, in VYR's usual key files.

A node signs with a private key file (PKCS#8 PEM, as `vyr keygen` writes it); a verifier
trusts public keys (SubjectPublicKeyInfo PEM, or legacy hex). Files are read with
`vyr.keys`, so every key file VYR accepts elsewhere works here and every refusal reads the
same. A key id is VYR's: `sha256:` + the sha256 of the 32 raw public key bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from vyr.errors import InvalidKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """VYR's key id of an ed25519 public key (equal to `vyr._core.key_id` of its hex)."""
    return "sha256:" + hashlib.sha256(public_key.public_bytes_raw()).hexdigest()


class ReceiptSigner:
    """Signs receipts (or checkpoints) with one ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str]) -> ReceiptSigner:
        """From a private key file (PKCS#8 PEM, or legacy hex); a public key file, another
        algorithm or an encrypted key is refused with `InvalidKey`."""
        from vyr.keys import read_private_key

        return cls._from_seed_hex(read_private_key(path))

    @classmethod
    def from_pem(cls, text: str) -> ReceiptSigner:
        """From a private key's text (PKCS#8 PEM, or legacy hex)."""
        from vyr.keys import private_key_hex

        return cls._from_seed_hex(private_key_hex(text))

    @classmethod
    def _from_seed_hex(cls, seed_hex: str) -> ReceiptSigner:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of `message`."""
        return self._key.sign(message)


class TrustedKeys:
    """The public keys a verifier accepts, by key id."""

    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {key_id_of(key): key for key in keys}
        if not self._keys:
            raise InvalidKey("no trusted key given: a receipt verifies only against one")

    @classmethod
    def from_texts(cls, texts: Iterable[str | Ed25519PublicKey]) -> TrustedKeys:
        """From public key texts (SubjectPublicKeyInfo PEM, or legacy hex) or key objects;
        a private key or a weak key is refused with `InvalidKey`."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        keys = []
        for index, text in enumerate(texts):
            if isinstance(text, Ed25519PublicKey):
                keys.append(text)
            else:
                from vyr.keys import public_key_hex  # loads the extension: only for texts

                raw = bytes.fromhex(public_key_hex(text, f"trusted key #{index + 1}"))
                keys.append(Ed25519PublicKey.from_public_bytes(raw))
        return cls(keys)

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]]) -> TrustedKeys:
        """From public key files (as `vyr trust add` takes them)."""
        from vyr.keys import read_public_key

        return cls.from_texts([read_public_key(path) for path in paths])

    @property
    def key_ids(self) -> list[str]:
        """The trusted key ids, sorted."""
        return sorted(self._keys)

    def candidates(self, key_id_hint: str | None) -> list[tuple[str, Ed25519PublicKey]]:
        """The keys to try for a signature: the one its (unauthenticated) key id names, or all
        of them when it names none. DSSE lets a key id narrow the choice, never widen it."""
        if key_id_hint is None:
            return sorted(self._keys.items())
        key = self._keys.get(key_id_hint)
        return [] if key is None else [(key_id_hint, key)]
