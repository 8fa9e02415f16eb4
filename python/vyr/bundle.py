"""Artifact bundles: signed artifacts carried from one node's store to another as one file.

A bundle is an uncompressed tar archive (reproducible: sorted entries, zero mtimes and owners):

```
vyr-bundle.json                    the index, always the first entry
artifacts/<hex>/module.wasm        the module whose sha256 is the artifact digest
artifacts/<hex>/manifest.json      the canonical manifest, as stored
artifacts/<hex>/signature          the 64-byte ed25519 signature of the manifest
```

The index lists, for every artifact, its digest and name and the path, size and sha256 of each
of its three files. Reading a bundle checks its structure (nothing but those files, no links, no
paths outside the bundle, sizes and hashes as listed, each module hashing to its digest) before
anything is handed to a node. Importing is `put_artifact` for each entry, so the receiving node
verifies the manifest and a trusted signature exactly as for any other upload: a bundle carries
no trust of its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vyr.errors import InvalidBundle, VyrError
from vyr.types import Artifact

FORMAT = "vyr-bundle"
VERSION = 1
INDEX_NAME = "vyr-bundle.json"
PART_FILES = {"module": "module.wasm", "manifest": "manifest.json", "signature": "signature"}
# Larger than any module a node accepts by default; stops a hostile index asking for gigabytes.
MAX_ENTRY_BYTES = 1 << 30
MAX_INDEX_BYTES = 16 << 20


class ArtifactSource(Protocol):
    """What export needs from a node: the stored parts of an artifact."""

    def artifact_parts(self, digest: str) -> tuple[bytes, bytes, bytes]: ...


class ArtifactSink(Protocol):
    """What import needs from a node (`vyr.Runtime` and `vyr.Client` both qualify)."""

    def put_artifact(
        self, digest: str, manifest: bytes, signature: bytes, module: bytes
    ) -> Artifact: ...


@dataclass(frozen=True)
class BundledArtifact:
    """One artifact read from a bundle (structure checked, signature not yet verified)."""

    digest: str
    name: str
    module: bytes
    manifest: bytes
    signature: bytes


def export_bundle(
    node: ArtifactSource, digests: list[str], out: str | os.PathLike[str]
) -> list[BundledArtifact]:
    """Writes the artifacts `digests` (stored in `node`) to the bundle file `out`.

    The file appears atomically (written beside it, then renamed); duplicates are exported once.
    """
    if not digests:
        raise InvalidBundle("nothing to export: name at least one artifact digest")
    entries = []
    for digest in dict.fromkeys(digests):
        module, manifest, signature = node.artifact_parts(digest)
        entries.append(
            BundledArtifact(digest, _manifest_name(manifest), module, manifest, signature)
        )
    write_bundle(entries, out)
    return entries


def write_bundle(entries: list[BundledArtifact], out: str | os.PathLike[str]) -> None:
    """Writes `entries` as a bundle file at `out` (atomically)."""
    out = Path(out)
    index: dict[str, Any] = {"format": FORMAT, "version": VERSION, "artifacts": []}
    files: list[tuple[str, bytes]] = []
    for entry in sorted(entries, key=lambda e: e.digest):
        listed: dict[str, Any] = {}
        for part, file_name in PART_FILES.items():
            data: bytes = getattr(entry, part)
            path = f"artifacts/{_hex(entry.digest)}/{file_name}"
            listed[part] = {
                "path": path,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            files.append((path, data))
        index["artifacts"].append({"digest": entry.digest, "name": entry.name, "files": listed})
    index_bytes = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or ".")
    try:
        with (
            os.fdopen(descriptor, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for path, data in [(INDEX_NAME, index_bytes), *files]:
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise


def read_bundle(path: str | os.PathLike[str]) -> list[BundledArtifact]:
    """Reads and checks a bundle; raises `InvalidBundle` naming what is wrong."""
    path = Path(path)
    try:
        # "r:", not "r:*": a bundle is never compressed, and decompressing first would let a
        # half-MiB gzip bomb cost gigabytes of inflating before any check could refuse it.
        tar = tarfile.open(path, mode="r:")
    except FileNotFoundError:
        raise InvalidBundle(f"bundle {path} does not exist") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise _not_a_bundle(path, _what_it_is(path, error)) from None
    with tar:
        try:
            members = _regular_members(tar, path)
            index = _read_index(tar, members, path)
            entries = [_read_entry(tar, members, raw, path) for raw in index["artifacts"]]
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise InvalidBundle(f"{path}: truncated or corrupt archive ({error})") from None
    unlisted = (
        set(members)
        - {INDEX_NAME}
        - {
            f"artifacts/{_hex(e.digest)}/{file_name}"
            for e in entries
            for file_name in PART_FILES.values()
        }
    )
    if unlisted:
        raise InvalidBundle(
            f"{path}: entries not listed in the index: {', '.join(sorted(unlisted))}"
        )
    return entries


def import_bundle(node: ArtifactSink, path: str | os.PathLike[str]) -> list[Artifact]:
    """Checks the bundle at `path`, then puts each artifact into `node`, which verifies its
    digest, manifest and signature (the signer must be trusted there). Returns what was stored.

    The whole bundle is checked before the first put; a signature the node refuses stops the
    import at that artifact (those before it stay stored) with the node's own error class.
    """
    stored = []
    for entry in read_bundle(path):
        try:
            stored.append(
                node.put_artifact(entry.digest, entry.manifest, entry.signature, entry.module)
            )
        except VyrError as error:
            raise _in_context(
                error, f"artifact {entry.digest} ({entry.name}) from bundle {path}"
            ) from None
    return stored


def _regular_members(tar: tarfile.TarFile, path: Path) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for member in tar.getmembers():
        if not member.isfile():
            raise InvalidBundle(f"{path}: entry {member.name!r} is not a regular file")
        if member.name in members:
            raise InvalidBundle(f"{path}: entry {member.name!r} appears twice")
        if member.size > MAX_ENTRY_BYTES:
            raise InvalidBundle(
                f"{path}: entry {member.name!r} is {member.size} bytes, over the limit"
            )
        members[member.name] = member
    return members


def _read_index(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], path: Path
) -> dict[str, Any]:
    if INDEX_NAME not in members:
        raise _not_a_bundle(path, f"a tar archive without {INDEX_NAME}")
    if members[INDEX_NAME].size > MAX_INDEX_BYTES:
        raise InvalidBundle(f"{path}: {INDEX_NAME} is too large")
    try:
        index = json.loads(_extract(tar, members[INDEX_NAME]))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidBundle(f"{path}: {INDEX_NAME} is not valid JSON ({error})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InvalidBundle(f"{path}: {INDEX_NAME} is not a {FORMAT} index")
    if index.get("version") != VERSION:
        raise InvalidBundle(
            f"{path}: bundle version {index.get('version')!r}; this VYR reads version {VERSION}"
        )
    if not isinstance(index.get("artifacts"), list):
        raise InvalidBundle(f"{path}: {INDEX_NAME} has no artifact list")
    return index


def _read_entry(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], raw: Any, path: Path
) -> BundledArtifact:
    try:
        digest, name, listed = raw["digest"], raw["name"], raw["files"]
        parts = {
            part: (listed[part]["path"], listed[part]["size"], listed[part]["sha256"])
            for part in PART_FILES
        }
    except (TypeError, KeyError) as error:
        raise InvalidBundle(
            f"{path}: malformed index entry ({error!r} missing or wrong type)"
        ) from None
    if not isinstance(digest, str) or not _is_digest(digest):
        raise InvalidBundle(f"{path}: index names an invalid digest {digest!r}")
    data = {}
    for part, (member_name, size, sha256) in parts.items():
        expected_name = f"artifacts/{_hex(digest)}/{PART_FILES[part]}"
        if member_name != expected_name:
            raise InvalidBundle(
                f"{path}: {digest} {part} must be stored at {expected_name}, index says {member_name!r}"
            )
        member = members.get(member_name)
        if member is None:
            raise InvalidBundle(f"{path}: {member_name} is listed in the index but missing")
        content = _extract(tar, member)
        actual = hashlib.sha256(content).hexdigest()
        if len(content) != size or actual != sha256:
            raise InvalidBundle(
                f"{path}: {member_name} is corrupt or was altered "
                f"({len(content)} bytes, sha256 {actual}; the index lists {size} bytes, sha256 {sha256})"
            )
        data[part] = content
    if "sha256:" + hashlib.sha256(data["module"]).hexdigest() != digest:
        raise InvalidBundle(f"{path}: the module stored for {digest} does not hash to that digest")
    return BundledArtifact(digest, str(name), data["module"], data["manifest"], data["signature"])


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise InvalidBundle(f"entry {member.name!r} is not a regular file")
    with handle:
        return handle.read()


def _not_a_bundle(path: Path, what: str) -> InvalidBundle:
    """The error for a file that is something else (the class hint, "export it again", is for
    a damaged bundle, so this one says what a bundle is instead)."""
    error = InvalidBundle(f"{path} is not a VYR bundle: it is {what}")
    error.hint = (
        "to store a signed module, use 'vyr artifact put MODULE'"
        if what.startswith("a WebAssembly")
        else "a bundle is the file 'vyr artifact export DIGEST... --out BUNDLE' writes"
    )
    return error


def _what_it_is(path: Path, error: BaseException) -> str:
    """A short description of a file tarfile could not open (never tarfile's internals)."""
    if isinstance(error, IsADirectoryError):
        return "a directory"
    if isinstance(error, OSError) and not isinstance(error, tarfile.TarError):
        return f"unreadable ({error.strerror or error})"
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as cause:
        return f"unreadable ({cause.strerror or cause})"
    if not head:
        return "an empty file"
    if head.startswith(b"\0asm"):
        return "a WebAssembly module"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        return "compressed data (a bundle is an uncompressed tar archive; it is not inflated)"
    return "not a tar archive"


def _in_context(error: VyrError, where: str) -> VyrError:
    """The same error class, with the message saying which bundled artifact it concerns."""
    try:
        wrapped = type(error)(f"{where}: {error}")
    except TypeError:
        return error
    wrapped.hint = error.hint
    return wrapped


def _manifest_name(manifest: bytes) -> str:
    try:
        return str(json.loads(manifest).get("name", ""))
    except (ValueError, AttributeError):
        return ""


def _is_digest(text: str) -> bool:
    hex_part = text.removeprefix("sha256:")
    return (
        text.startswith("sha256:")
        and len(hex_part) == 64
        and all(c in "0123456789abcdef" for c in hex_part)
    )


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")
