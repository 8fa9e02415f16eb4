"""Mutation fuzzer over signed artifacts and bundles (issue 13, "Keep the probes").

A signed reference artifact (digest, manifest, signature, module) is mutated (bit flips, byte
sets, truncations, extensions, splices within and across parts, manifest field edits, re-signing
by an untrusted key, parts swapped with a second signed artifact) and each candidate is put
through `vyr.Runtime.put_artifact`; bundles exported from a node are mutated byte-wise and put
through `vyr.bundle.import_bundle`. Every candidate differs from what was signed, so the node
must refuse it with a `VyrError`:

- accepted: a candidate the node stored (for a bundle: stored parts that differ from the
  signed ones). Must be 0.
- crashes: anything but a `VyrError` raised (a traceback for a user). Must be 0.

A bundle whose mutation touched only bytes no check covers (tar padding, an mtime, the
informational `name` in the index) imports the untouched artifact: that is counted as
`unchanged_imports`, not as an acceptance.

    python -m hostile.mutate --cases 10000 --seed 13      # the long form (docs/hostile.md)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARTS = ("digest", "manifest", "signature", "module")
REPO = Path(__file__).resolve().parent.parent
REFERENCE_GUESTS = ("hello", "state-file")  # the second one feeds cross-artifact splices
BUNDLE_SHARE = 0.25  # of the cases, how many mutate a bundle rather than the four parts


@dataclass(frozen=True)
class Signed:
    """The four parts `put_artifact` takes, as signed."""

    digest: str
    manifest: bytes
    signature: bytes
    module: bytes

    def parts(self) -> tuple[str, bytes, bytes, bytes]:
        return (self.digest, self.manifest, self.signature, self.module)


@dataclass
class Tally:
    """What a run tried and what the node did with it."""

    tried: int = 0
    accepted: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    unchanged_imports: int = 0
    refused_by: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "tried": self.tried,
            "accepted": len(self.accepted),
            "crashes": len(self.crashes),
            "unchanged_imports": self.unchanged_imports,
            "refused_by": dict(self.refused_by.most_common()),
            "kinds": dict(sorted(self.kinds.items())),
            "first_accepted": self.accepted[:5],
            "first_crashes": self.crashes[:5],
        }


# -- byte-level mutations ----------------------------------------------------------------------
def _flip_bits(rng: random.Random, data: bytes, _: bytes) -> bytes:
    if not data:
        return b"\x01"
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _set_byte(rng: random.Random, data: bytes, _: bytes) -> bytes:
    if not data:
        return b"\x00"
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return bytes(out)


def _truncate(rng: random.Random, data: bytes, _: bytes) -> bytes:
    return data[: rng.randrange(len(data))] if data else b""


def _extend(rng: random.Random, data: bytes, _: bytes) -> bytes:
    return data + rng.randbytes(rng.choice((1, 2, 7, 64, 1000)))


def _delete_range(rng: random.Random, data: bytes, _: bytes) -> bytes:
    if len(data) < 2:
        return b""
    start = rng.randrange(len(data) - 1)
    return data[:start] + data[start + rng.randrange(1, min(64, len(data) - start) + 1) :]


def _splice(rng: random.Random, data: bytes, donor: bytes) -> bytes:
    """Overwrites or inserts a run of bytes taken from `donor` (the same part of another
    artifact, or another part of this one)."""
    if not donor:
        return data + b"\x00"
    start = rng.randrange(len(donor))
    piece = donor[start : start + rng.randrange(1, 256)]
    at = rng.randrange(len(data) + 1)
    if rng.random() < 0.5:
        return data[:at] + piece + data[at + len(piece) :]
    return data[:at] + piece + data[at:]


BYTE_MUTATIONS: dict[str, Callable[[random.Random, bytes, bytes], bytes]] = {
    "flip": _flip_bits,
    "set": _set_byte,
    "truncate": _truncate,
    "extend": _extend,
    "delete": _delete_range,
    "splice": _splice,
}


# -- artifact-level mutations ------------------------------------------------------------------
def _edit_manifest_field(rng: random.Random, manifest: bytes) -> tuple[str, bytes]:
    """Changes one field and re-serialises canonically (compact, same order), so the node gets
    past the canonical-form check and must catch it with the signature."""
    document = json.loads(manifest)
    edits: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("name", lambda d: d.__setitem__("name", d["name"] + "x")),
        ("size", lambda d: d["module"].__setitem__("size", d["module"]["size"] + 1)),
        ("module.digest", lambda d: d["module"].__setitem__("digest", "sha256:" + "0" * 64)),
        ("signer", lambda d: d.__setitem__("signer", "sha256:" + "1" * 64)),
        ("args", lambda d: d.__setitem__("args", [*d.get("args", []), "--evil"])),
        ("env", lambda d: d.__setitem__("env", {**d.get("env", {}), "LD_PRELOAD": "x"})),
        ("memory", lambda d: d["resources"].__setitem__("memory_bytes", 1 << 30)),
        ("timeout", lambda d: d["resources"].__setitem__("timeout_ms", 86_400_000)),
        ("fuel", lambda d: d["resources"].__setitem__("fuel", None)),
        ("version", lambda d: d.__setitem__("vyr_manifest", 2)),
        ("entrypoint", lambda d: d.__setitem__("entrypoint", "main")),
    ]
    label, edit = rng.choice(edits)
    edit(document)
    return label, json.dumps(document, separators=(",", ":")).encode()


def artifact_candidates(
    rng: random.Random, reference: Signed, other: Signed, untrusted_key: str
) -> Iterator[tuple[str, tuple[str, bytes, bytes, bytes]]]:
    """An endless stream of (kind, candidate parts), each different from `reference`."""
    from vyr import _core

    while True:
        digest, manifest, signature, module = reference.parts()
        roll = rng.random()
        if roll < 0.55:  # one byte-level mutation of one part
            part = rng.choice(PARTS)
            name, mutate = rng.choice(list(BYTE_MUTATIONS.items()))
            donor_part = (
                getattr(other, part)
                if rng.random() < 0.5
                else getattr(reference, rng.choice(PARTS[1:]))
            )
            donor = donor_part.encode() if isinstance(donor_part, str) else donor_part
            value = getattr(reference, part)
            if part == "digest":
                changed = mutate(rng, value.encode(), donor).decode("latin-1")
            else:
                changed = mutate(rng, value, donor)
            candidate = dict(zip(PARTS, reference.parts(), strict=True))
            candidate[part] = changed
            kind = f"{part}:{name}"
            parts = tuple(candidate[p] for p in PARTS)
        elif roll < 0.70:  # a changed module with a digest that matches it
            name, mutate = rng.choice(list(BYTE_MUTATIONS.items()))
            module = mutate(rng, module, other.module)
            digest = "sha256:" + hashlib.sha256(module).hexdigest()
            kind, parts = f"module+digest:{name}", (digest, manifest, signature, module)
        elif roll < 0.85:  # a manifest field edited (not re-signed, or re-signed untrusted)
            label, manifest = _edit_manifest_field(rng, manifest)
            if rng.random() < 0.5:
                kind, parts = f"manifest-field:{label}", (digest, manifest, signature, module)
            else:
                resigned = _core.sign(untrusted_key, manifest)
                kind, parts = (
                    f"manifest-field-resigned-untrusted:{label}",
                    (digest, manifest, resigned, module),
                )
        else:  # parts of two validly signed artifacts mixed
            mix = [rng.random() < 0.5 for _ in PARTS]
            if all(mix) or not any(mix):
                mix[rng.randrange(len(PARTS))] ^= True
            parts = tuple(
                getattr(other if take else reference, part)
                for part, take in zip(PARTS, mix, strict=True)
            )
            kind = "mix:" + "".join("o" if take else "r" for take in mix)
        if parts != reference.parts():
            yield kind.split(":")[0], parts  # type: ignore[misc]


def run_artifact_cases(
    node: Any, reference: Signed, other: Signed, untrusted_key: str, count: int, seed: int
) -> Tally:
    """Puts `count` mutated candidates of `reference` into `node` (which must not hold it)."""
    from vyr.errors import VyrError

    tally = Tally()
    candidates = artifact_candidates(random.Random(seed), reference, other, untrusted_key)
    for _ in range(count):
        kind, parts = next(candidates)
        tally.tried += 1
        tally.kinds[kind] += 1
        try:
            node.put_artifact(*parts)
        except VyrError as error:
            tally.refused_by[type(error).__name__] += 1
            continue
        except Exception as error:  # a crash: what a caller would see as a traceback
            tally.crashes.append(f"{kind}: {error!r}")
            continue
        tally.accepted.append(f"{kind}: {parts[0]} ({len(parts[1])}-byte manifest)")
    return tally


def run_bundle_cases(
    node: Any, bundle: bytes, reference: Signed, count: int, seed: int, scratch: Path
) -> Tally:
    """Imports `count` byte-mutated copies of `bundle` (which holds `reference`) into `node`."""
    from vyr.bundle import import_bundle
    from vyr.errors import VyrError

    rng = random.Random(seed)
    tally = Tally()
    path = scratch / "candidate.bundle"
    while tally.tried < count:
        name, mutate = rng.choice(list(BYTE_MUTATIONS.items()))
        candidate = mutate(rng, bundle, bundle)
        if candidate == bundle:
            continue
        tally.tried += 1
        tally.kinds[f"bundle:{name}"] += 1
        path.write_bytes(candidate)
        try:
            stored = import_bundle(node, path)
        except VyrError as error:
            tally.refused_by[type(error).__name__] += 1
            continue
        except Exception as error:
            tally.crashes.append(f"bundle:{name}: {error!r}")
            continue
        for artifact in stored:
            module, manifest, signature = node.artifact_parts(artifact.digest)
            if (artifact.digest, manifest, signature, module) != reference.parts():
                tally.accepted.append(f"bundle:{name}: stored {artifact.digest} altered")
            else:
                tally.unchanged_imports += 1
    return tally


# -- set-up ------------------------------------------------------------------------------------
@dataclass
class Setup:
    """Two signed reference artifacts, an untrusted key, and the trusted public key text."""

    reference: Signed
    other: Signed
    untrusted_key: str
    public_key: str
    bundle: bytes


def prepare(workdir: Path, build: Path = REPO / "workloads" / "build") -> Setup:
    """Signs copies of the reference guests with a fresh key in `workdir` and exports a bundle
    of the first from a scratch node (so the bundle is what `vyr artifact export` writes)."""
    from vyr import _core
    from vyr.bundle import export_bundle
    from vyr.keys import generate_key, read_signed_module, sign_module
    from vyr.runtime import Runtime

    key, public = generate_key(workdir / "author.key")
    signed = []
    for name in REFERENCE_GUESTS:
        module = workdir / f"{name}.wasm"
        shutil.copy(build / f"{name}.wasm", module)
        sign_module(module, key)
        signed.append(Signed(*read_signed_module(module)))
    untrusted, _ = _core.generate_keypair()
    exporter = Runtime(workdir / "export-home", state_dir=str(workdir / "export-states"))
    try:
        exporter.trust_add(public.read_text())
        exporter.put_artifact(*signed[0].parts())
        export_bundle(exporter, [signed[0].digest], workdir / "reference.bundle")
    finally:
        exporter.close()
    return Setup(
        signed[0],
        signed[1],
        untrusted,
        public.read_text(),
        (workdir / "reference.bundle").read_bytes(),
    )


def fuzz(cases: int, seed: int, workdir: Path) -> dict[str, Any]:
    """The whole probe: `cases` candidates (a quarter of them bundles) against a fresh node."""
    from vyr.runtime import Runtime

    setup = prepare(workdir)
    node = Runtime(workdir / "home", state_dir=str(workdir / "states"))
    try:
        node.trust_add(setup.public_key)
        bundle_cases = round(cases * BUNDLE_SHARE)
        artifacts = run_artifact_cases(
            node, setup.reference, setup.other, setup.untrusted_key, cases - bundle_cases, seed
        )
        stored = [a.digest for a in node.list_artifacts()]
        bundles = run_bundle_cases(node, setup.bundle, setup.reference, bundle_cases, seed, workdir)
        # The control: the unmutated artifact is accepted, so refusals above meant something.
        control = node.put_artifact(*setup.reference.parts()).digest == setup.reference.digest
    finally:
        node.close()
    return {
        "seed": seed,
        "artifacts": artifacts.summary(),
        "bundles": bundles.summary(),
        "stored_by_artifact_cases": stored,
        "reference_accepted": control,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m hostile.mutate`: prints the summary as JSON; exit 1 on any acceptance/crash."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vyr-mutate-") as workdir:
        result = fuzz(args.cases, args.seed, Path(workdir))
    print(json.dumps(result, indent=2))
    bad = sum(result[k]["accepted"] + result[k]["crashes"] for k in ("artifacts", "bundles"))
    return 1 if bad or result["stored_by_artifact_cases"] or not result["reference_accepted"] else 0


if __name__ == "__main__":
    sys.exit(main())
