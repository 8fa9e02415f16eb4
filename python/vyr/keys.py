"""Keys and signing on the author's side: `vyr keygen` and `vyr sign`.

Files: a private key is its 32-byte seed as hex (mode 0600), a public key is 32 bytes as hex,
a signature (`MODULE.sig`) is 64 bytes as hex, and `MODULE.manifest.json` holds the canonical
manifest bytes exactly as signed.
"""

from __future__ import annotations

import os
from pathlib import Path

from vyr import _core
from vyr.errors import InvalidArgument, InvalidKey, InvalidSignature


def generate_key(path: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path]:
    """Writes a new private key to PATH (0600) and its public key to PATH.pub."""
    private_path = Path(path)
    public_path = private_path.with_name(private_path.name + ".pub")
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise InvalidArgument(
            f"{private_path} or {public_path} exists; refusing to overwrite a key"
        )
    private_text, public_text = _core.generate_keypair()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if overwrite else os.O_EXCL)
    fd = os.open(private_path, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(private_text)
    os.chmod(private_path, 0o600)
    public_path.write_text(public_text)
    return private_path, public_path


def read_private_key(path: str | os.PathLike[str]) -> str:
    """Reads a private key file (as written by `generate_key`)."""
    text = _read_text(path, "private key")
    _core.public_key_of(text)  # validates
    return text


def read_public_key(path: str | os.PathLike[str]) -> str:
    """Reads a public key file and validates it (weak keys are refused)."""
    text = _read_text(path, "public key")
    _core.key_id(text)
    return text


def sign_module(
    module_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    *,
    name: str | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    memory_bytes: int | None = None,
    timeout_ms: int | None = None,
    fuel: int | None = None,
) -> tuple[Path, Path]:
    """Writes MODULE.manifest.json and MODULE.sig next to the module; returns their paths."""
    module_path = Path(module_path)
    module = _read_bytes(module_path, "module")
    private_text = read_private_key(key_path)
    stem = name or module_path.name.removesuffix(".wasm")
    manifest = _core.make_manifest(
        stem, module, private_text, args, env, memory_bytes, timeout_ms, fuel
    )
    signature = _core.sign(private_text, manifest)
    manifest_path = module_path.with_name(module_path.name + ".manifest.json")
    signature_path = module_path.with_name(module_path.name + ".sig")
    manifest_path.write_bytes(manifest)
    signature_path.write_text(signature.hex() + "\n")
    return manifest_path, signature_path


def read_signed_module(
    module_path: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str] | None = None,
    signature_path: str | os.PathLike[str] | None = None,
) -> tuple[str, bytes, bytes, bytes]:
    """(digest, manifest, signature, module) from MODULE, MODULE.manifest.json and MODULE.sig
    (as `vyr sign` writes them), ready for `put_artifact`."""
    import hashlib

    module_path = Path(module_path)
    manifest_path = Path(manifest_path or f"{module_path}.manifest.json")
    signature_path = Path(signature_path or f"{module_path}.sig")
    try:
        module = module_path.read_bytes()
        manifest = manifest_path.read_bytes()
    except OSError as error:
        hint = (
            "; sign the module first with 'vyr sign MODULE --key KEY'"
            if not manifest_path.exists()
            else ""
        )
        raise InvalidArgument(f"cannot read {error.filename}: {error.strerror}{hint}") from None
    signature = read_signature(signature_path)
    return "sha256:" + hashlib.sha256(module).hexdigest(), manifest, signature, module


def read_signature(path: str | os.PathLike[str]) -> bytes:
    """Reads a `.sig` file (128 hex digits)."""
    text = _read_text(path, "signature", InvalidSignature).strip()
    try:
        signature = bytes.fromhex(text)
    except ValueError:
        raise InvalidSignature(f"{path}: a signature file holds 128 hex digits") from None
    if len(signature) != 64:
        raise InvalidSignature(f"{path}: a signature has 64 bytes, this one {len(signature)}")
    return signature


def _read_text(path: str | os.PathLike[str], what: str, error: type[Exception] = InvalidKey) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as cause:
        raise error(f"cannot read {what} file {path}: {cause}") from None


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read {what} {path}: {error.strerror or error}") from None
