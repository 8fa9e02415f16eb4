"""Keys and signing on the author's side: `vyr keygen`, `vyr sign` and the key files they use.

Key files are standard and interoperable with OpenSSL:

- a private key is an ed25519 key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, mode 0600), as
  `vyr keygen` and `openssl genpkey -algorithm ed25519` write it;
- a public key (`KEY.pub`) is SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as
  `openssl pkey -in KEY -pubout` writes it;
- legacy, read but never written: 64 hex digits (the 32-byte seed or public key), the format
  of earlier VYR versions. Such a file does not say which kind of key it holds, so a name
  ending in `.pub`, or a `PATH.pub` beside `PATH`, decides.

A signature (`MODULE.sig`) is 64 bytes as 128 hex digits; `MODULE.manifest.json` holds the
canonical manifest bytes exactly as signed. A key id is "sha256:" + the sha256 of the 32 raw
public key bytes, whatever the file format. The core takes keys as hex text: PEM is converted
here, at the Python edge, and `cryptography` is imported only when a PEM key is read or written.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vyr import _core
from vyr.errors import InvalidArgument, InvalidKey, InvalidSignature

PRIVATE_FORMAT = "PKCS#8 PEM"
PUBLIC_FORMAT = "SubjectPublicKeyInfo PEM"
LEGACY_FORMAT = "legacy hex"
_LEGACY_HEX = re.compile(r"[0-9a-fA-F]{64}")
_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_MAKE_KEY = "make one with 'vyr keygen PATH' or 'openssl genpkey -algorithm ed25519 -out PATH'"


@dataclass(frozen=True)
class _Key:
    """What a key text holds: its kind, its 32 raw bytes as hex and the format it came in."""

    kind: Literal["private", "public", "either"]  # "either": legacy hex does not say
    hex: str
    form: str


def generate_key(path: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path]:
    """Writes a new ed25519 key to PATH (PKCS#8 PEM, mode 0600) and its public key to PATH.pub
    (SubjectPublicKeyInfo PEM); missing parent directories are created with mode 0700."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path = Path(path).expanduser()
    public_path = private_path.with_name(private_path.name + ".pub")
    existing = [p for p in (private_path, public_path) if p.exists()]
    if existing and not overwrite:
        error = InvalidArgument(f"{existing[0]} exists; refusing to overwrite a key")
        error.hint = "choose another PATH, or pass --force to replace the key pair"
        raise error
    _make_private_directories(private_path.parent)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_file(private_path, private_pem, 0o600, replace=overwrite)
    _write_file(public_path, public_pem, 0o644, replace=overwrite)
    return private_path, public_path


def key_id(public_key_text: str) -> str:
    """The key id ("sha256:" + sha256 of the raw public key) of a public key in PEM or hex."""
    return str(_core.key_id(public_key_hex(public_key_text)))


def public_key_hex(text: str, source: str = "the key") -> str:
    """A public key (SPKI PEM, or legacy hex) as the hex text the core takes; a private key,
    another algorithm or a weak key is refused with `InvalidKey`."""
    key = _parse(text, source)
    if key.kind == "private":
        raise _wrong_kind(source, key, expected="public")
    _core.key_id(key.hex)  # validates the point (weak keys are refused)
    return key.hex


def private_key_hex(text: str, source: str = "the key") -> str:
    """A private key (PKCS#8 PEM, or legacy hex) as the hex seed the core takes; a public key
    or another algorithm is refused with `InvalidKey`."""
    key = _parse(text, source)
    if key.kind == "public":
        raise _wrong_kind(source, key, expected="private")
    _core.public_key_of(key.hex)  # validates
    return key.hex


def read_private_key(path: str | os.PathLike[str]) -> str:
    """Reads a private key file; returns its seed as the hex text the core takes."""
    text = _read_text(path, "private key")
    key = _parse(text, str(path))
    if key.kind == "either" and str(path).endswith(".pub"):
        # A legacy file cannot say what it holds; its name can.
        raise _wrong_kind(str(path), _Key("public", key.hex, key.form), expected="private")
    return private_key_hex(text, str(path))


def read_public_key(path: str | os.PathLike[str]) -> str:
    """Reads and validates a public key file; returns its text, as `trust_add` takes it."""
    text = _read_text(path, "public key")
    key = _parse(text, str(path))
    if key.kind == "either" and Path(f"{path}.pub").exists() and not str(path).endswith(".pub"):
        # `vyr keygen` wrote PATH and PATH.pub: a legacy PATH with a PATH.pub is the private one.
        raise _wrong_kind(str(path), _Key("private", key.hex, key.form), expected="public")
    public_key_hex(text, str(path))
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
    """Writes MODULE.manifest.json and MODULE.sig next to the module; returns their paths.

    Everything is checked (the key first) before either file is written, so a refused key
    never replaces a good signature.
    """
    module_path = Path(module_path)
    private_hex = read_private_key(key_path)
    module = _read_bytes(module_path, "module")
    stem = name or module_path.name.removesuffix(".wasm")
    manifest = _core.make_manifest(
        stem, module, private_hex, args, env, memory_bytes, timeout_ms, fuel
    )
    signature = _core.sign(private_hex, manifest)
    manifest_path = module_path.with_name(module_path.name + ".manifest.json")
    signature_path = module_path.with_name(module_path.name + ".sig")
    _write_file(manifest_path, manifest, 0o644, replace=True)
    _write_file(signature_path, (signature.hex() + "\n").encode(), 0o644, replace=True)
    return manifest_path, signature_path


def read_signed_module(
    module_path: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str] | None = None,
    signature_path: str | os.PathLike[str] | None = None,
) -> tuple[str, bytes, bytes, bytes]:
    """(digest, manifest, signature, module) from MODULE, MODULE.manifest.json and MODULE.sig
    (as `vyr sign` writes them), ready for `put_artifact`."""
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


# -- key formats ------------------------------------------------------------------------------
def _parse(text: str, source: str) -> _Key:
    """Recognises a key text by its PEM label (or as legacy hex) and loads it."""
    stripped = text.strip()
    if _LEGACY_HEX.fullmatch(stripped):
        return _Key("either", stripped.lower(), LEGACY_FORMAT)
    labels = _PEM_LABEL.findall(text)
    if not labels:
        if stripped.startswith(("ssh-", "ecdsa-")):
            raise _refused(source, "an OpenSSH public key", "expected SubjectPublicKeyInfo PEM")
        raise _refused(
            source,
            "no key VYR can read",
            f"expected {PRIVATE_FORMAT} (a private key) or {PUBLIC_FORMAT} (a public key)",
        )
    for label in labels:
        if label == "ENCRYPTED PRIVATE KEY":
            error = _refused(source, "an encrypted private key", "VYR reads unencrypted keys")
            error.hint = f"decrypt it: openssl pkey -in {source} -out PLAIN.key (mode 0600)"
            raise error
        if label == "OPENSSH PRIVATE KEY":
            raise _refused(source, "an OpenSSH private key", f"expected {PRIVATE_FORMAT}")
        if label.endswith("PRIVATE KEY"):
            return _load_private_pem(text, source)
        if label.endswith("PUBLIC KEY"):
            return _load_public_pem(text, source)
    raise _refused(source, f"a PEM {labels[0].lower()}", "not a key")


def _load_private_pem(text: str, source: str) -> _Key:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(text.encode(), password=None)
    except TypeError:  # cryptography's way of saying "encrypted, and no password given"
        raise _refused(source, "an encrypted private key", "VYR reads unencrypted keys") from None
    except (ValueError, UnsupportedAlgorithm):
        raise _refused(source, "a malformed or unsupported PEM private key", "") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _refused(
            source, f"a private key of type {_algorithm(key)}", "VYR signs with ed25519 only"
        )
    return _Key("private", key.private_bytes_raw().hex(), PRIVATE_FORMAT)


def _load_public_pem(text: str, source: str) -> _Key:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise _refused(source, "a malformed or unsupported PEM public key", "") from None
    if not isinstance(key, Ed25519PublicKey):
        raise _refused(
            source, f"a public key of type {_algorithm(key)}", "VYR trusts ed25519 keys only"
        )
    return _Key("public", key.public_bytes_raw().hex(), PUBLIC_FORMAT)


def _algorithm(key: Any) -> str:
    """A readable algorithm name for a key cryptography loaded ("RSA", "EC (secp256r1)")."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RSA"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"EC ({key.curve.name})"
    return type(key).__name__.removeprefix("_").replace("PrivateKey", "").replace("PublicKey", "")


def _refused(source: str, holds: str, why: str) -> InvalidKey:
    error = InvalidKey(f"{source} holds {holds}" + (f": {why}" if why else ""))
    error.hint = _MAKE_KEY
    return error


def _wrong_kind(source: str, key: _Key, *, expected: Literal["private", "public"]) -> InvalidKey:
    """A private key where a public one belongs, or the reverse, named as such."""
    wanted = PRIVATE_FORMAT if expected == "private" else PUBLIC_FORMAT
    error = InvalidKey(
        f"{source} holds a {key.kind} key ({key.form}), but a {expected} key ({wanted}) "
        "was expected; nothing was changed"
    )
    if expected == "public":
        public = Path(f"{source}.pub")
        error.hint = (
            f"trust its public key instead: vyr trust add {public}"
            if public.exists()
            else f"write its public key with 'openssl pkey -in {source} -pubout -out {public}' "
            "and use that; keep the private key to yourself"
        )
    else:
        private = Path(source.removesuffix(".pub"))
        error.hint = (
            f"sign with the private key: --key {private}"
            if source.endswith(".pub") and private.exists()
            else "sign with a private key (from 'vyr keygen PATH': PATH, not PATH.pub)"
        )
    return error


# -- files --------------------------------------------------------------------------------------
def _make_private_directories(directory: Path) -> None:
    """Creates `directory` and any missing parents with mode 0700 (existing ones are left be)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700, exist_ok=True)
            os.chmod(created, 0o700)  # mkdir's mode is masked by the umask
        except OSError as error:
            raise InvalidArgument(
                f"cannot create directory {created}: {error.strerror or error}"
            ) from None


def _write_file(path: Path, data: bytes, mode: int, *, replace: bool) -> None:
    """Writes `data` to `path` atomically: a temp file (created 0600) in the same directory,
    then rename (`replace`) or hard link (refuses an existing file, never a half-written one)."""
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise InvalidArgument(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    except FileExistsError:
        raise InvalidArgument(f"{path} exists; refusing to overwrite it") from None
    except OSError as error:
        raise InvalidArgument(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _read_text(path: str | os.PathLike[str], what: str, error: type[Exception] = InvalidKey) -> str:
    try:
        return Path(path).read_bytes().decode("ascii")
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except UnicodeDecodeError:
        # Binary: most likely DER, which PEM is the base64 form of.
        problem = error(f"{path} is a binary file, not a {what} in text (PEM) form")
        if isinstance(problem, InvalidKey):
            problem.hint = (
                f"if it is DER, convert it: openssl pkey -inform DER -in {path} -out KEY.pem"
                " (add -pubin for a public key)"
            )
        raise problem from None
    except OSError as cause:
        raise error(f"cannot read {what} file {path}: {cause.strerror or cause}") from None


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read {what} {path}: {error.strerror or error}") from None
