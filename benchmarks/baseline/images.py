"""OCI images for the container baseline, built locally with buildah (vfs storage, no daemon).

- **minimal** (`vyr-bench/<workload>:scratch`): `buildah from scratch` + the static musl binary
  + the `stdin-from` entrypoint: the most favourable image a container user can have.
- **typical** (`vyr-bench/debian:minbase`): a Debian bookworm `debootstrap --variant=minbase`
  root filesystem (apt lists, caches and docs removed, like `debian:*-slim`) with the same
  binaries: the realistic case.

Each image is committed to an OCI archive in the cache directory (reused while its inputs are
unchanged) and imported into containerd with `ctr images import`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.baseline.containerd import Containerd

HERE = Path(__file__).resolve().parent
STDIN_FROM_SOURCE = HERE / "stdin_from.c"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Paths inside every image.
INPUT_DIR = "/input"
STATE_DIR = "/state"
ENTRYPOINT = "/bin/stdin-from"


@dataclass(frozen=True)
class Image:
    """An image in an OCI archive: its reference, archive and sizes."""

    ref: str
    archive: Path
    variant: str  # "scratch" or "debian"
    compressed_bytes: int  # config + manifest + layer blobs, as pushed to a registry
    unpacked_bytes: int  # the root filesystem's files

    def binary(self, workload: str) -> str:
        return f"/app/{workload}"


def build_stdin_from(cache: Path) -> Path:
    """Compiles `stdin_from.c` statically for x86_64-linux-musl with the pinned ziglang."""
    out = cache / "stdin-from"
    stamp = cache / "stdin-from.sha256"
    digest = hashlib.sha256(STDIN_FROM_SOURCE.read_bytes()).hexdigest()
    if out.exists() and stamp.exists() and stamp.read_text() == digest:
        return out
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-musl", "-mcpu=baseline",
         "-static", "-O2", "-s", str(STDIN_FROM_SOURCE), "-o", str(out)],
        check=True,
    )  # fmt: skip
    stamp.write_text(digest)
    return out


def debian_rootfs(cache: Path) -> Path:
    """A slimmed `debootstrap --variant=minbase` tree (built once, ~30 s from the mirror)."""
    rootfs = cache / "debian-rootfs"
    if (rootfs / "etc" / "debian_version").exists():
        return rootfs
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install -y debootstrap)")
    staging = cache / "debian-rootfs.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    subprocess.run(
        ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(staging), DEBIAN_MIRROR],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # What debian:*-slim leaves out, plus the device nodes the runtime provides itself.
    for pattern in ("dev/*", "var/cache/apt/*", "var/lib/apt/lists/*", "usr/share/doc/*",
                    "usr/share/man/*", "usr/share/info/*", "var/log/*"):  # fmt: skip
        for path in staging.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    staging.rename(rootfs)
    return rootfs


class Builder:
    """buildah with its own vfs storage under the cache directory."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.storage = ["--storage-driver", "vfs", "--root", str(cache / "buildah" / "root"),
                        "--runroot", str(cache / "buildah" / "runroot")]  # fmt: skip

    def buildah(self, *args: str) -> str:
        completed = subprocess.run(
            ["buildah", *self.storage, *args], capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args)}: {completed.stderr.strip()}")
        return completed.stdout.strip()

    def build(
        self, name: str, files: dict[str, Path], variant: str, rootfs: Path | None = None
    ) -> Image:
        """An image with `files` (path in image -> host file) on top of scratch or `rootfs`."""
        key = hashlib.sha256(f"{variant} gzip".encode())
        for target, source in sorted(files.items()):
            key.update(target.encode() + b"\0" + hashlib.sha256(source.read_bytes()).digest())
        if rootfs is not None:
            key.update((rootfs / "etc" / "debian_version").read_bytes())
        ref = f"vyr-bench/{name}:{'minbase' if variant == 'debian' else variant}"
        archive = self.cache / "images" / f"{name}-{variant}-{key.hexdigest()[:16]}.tar"
        if not archive.exists():
            archive.parent.mkdir(parents=True, exist_ok=True)
            container = self.buildah("from", "scratch")
            try:
                if rootfs is not None:
                    layer = self.cache / "debian-rootfs.tar"
                    if not layer.exists():
                        with tarfile.open(layer.with_suffix(".tmp"), "w") as tar:
                            tar.add(rootfs, arcname=".")
                        layer.with_suffix(".tmp").rename(layer)
                    self.buildah("add", container, str(layer), "/")
                for target, source in files.items():
                    self.buildah("copy", "--chmod", "0755", container, str(source), target)
                self.buildah("config", "--entrypoint", json.dumps([ENTRYPOINT]), container)
                temporary = archive.with_suffix(".partial")
                self.buildah("commit", "--format", "oci", "--disable-compression=false", "--rm", container,
                             f"oci-archive:{temporary}:{ref}")  # fmt: skip
                temporary.rename(archive)
            except BaseException:
                subprocess.run(
                    ["buildah", *self.storage, "rm", container], capture_output=True, check=False
                )
                raise
        compressed, unpacked = archive_sizes(archive)
        return Image(ref, archive, variant, compressed, unpacked)


def archive_sizes(archive: Path) -> tuple[int, int]:
    """(bytes of every blob in the OCI archive, bytes of the files in its layers)."""
    compressed = unpacked = 0
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            if not member.isfile() or "/blobs/" not in f"/{member.name}":
                continue
            compressed += member.size
            blob = outer.extractfile(member)
            assert blob is not None
            try:
                with tarfile.open(fileobj=blob, mode="r:*") as layer:
                    unpacked += sum(m.size for m in layer.getmembers() if m.isfile())
            except tarfile.TarError:
                pass  # a config or manifest, not a layer
    return compressed, unpacked


def build_all(cache: Path, binaries: dict[str, Path], typical: bool = True) -> list[Image]:
    """One minimal image per workload binary, and (if `typical`) one Debian image with all."""
    wrapper = build_stdin_from(cache)
    builder = Builder(cache)
    images = [
        builder.build(name, {ENTRYPOINT: wrapper, f"/app/{name}": binary}, "scratch")
        for name, binary in binaries.items()
    ]
    if typical:
        files = {ENTRYPOINT: wrapper, **{f"/app/{n}": b for n, b in binaries.items()}}
        images.append(builder.build("debian", files, "debian", rootfs=debian_rootfs(cache)))
    return images


def import_image(daemon: Containerd, image: Image) -> None:
    """`ctr images import` (content + unpack into the overlayfs snapshotter)."""
    daemon.ctr("images", "import", str(image.archive))


def remove_image(daemon: Containerd, image: Image) -> None:
    """Removes the image and waits for containerd to collect its content and snapshots."""
    daemon.ctr("images", "remove", "--sync", image.ref, check=False)
