"""Random valid modules from `wasm-tools smith`, signed and run under limits in ONE process
(issue 13, "Keep the probes"): 0 crashes, 0 hangs past the deadline + 100 ms.

Each module exports a WASI command's `_start` and `memory` (`--exports`) and may import a few
real WASI functions (`--available-imports`), so random code also reaches host calls with random
pointers. Proposals VYR's engines refuse are off, so most modules get past `put_artifact`; the
rest must be refused with `InvalidModule`. Every module is put and run on one embedded node
with a short deadline (every fourth also with a fuel budget, which runs Cranelift's code).

- crash: the process dies (the caller sees its exit status) or a non-`VyrError` is raised;
- hang: a task whose result is back later than its deadline + 100 ms after its start
  (`artifact_ready`, as the stop-latency test measures).

    python -m hostile.smith --modules 2000 --seed 13        # prints a JSON summary
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostile.guests import SOURCES, assemble, wasm_tools

TIMEOUT_S = 0.050
FUEL = 20_000_000
HANG_MARGIN_NS = 100_000_000
MEMORY_BYTES = 64 << 20
SMITH_OPTIONS = [
    "--gc-enabled",
    "false",
    "--exceptions-enabled",
    "false",
    "--threads-enabled",
    "false",
    "--shared-everything-threads-enabled",
    "false",
    "--memory64-enabled",
    "false",
    "--reference-types-enabled",
    "false",
    "--relaxed-simd-enabled",
    "false",
    "--wide-arithmetic-enabled",
    "false",
    "--custom-page-sizes-enabled",
    "false",
    "--custom-descriptors-enabled",
    "false",
    "--compact-imports-enabled",
    "false",
    "--allow-start-export",
    "false",
    "--max-memories",
    "0",  # only the exported `memory` (VYR has multi-memory off)
    "--max-memory32-bytes",
    str(MEMORY_BYTES),
]


@dataclass
class Outcomes:
    """What happened to the generated modules."""

    generated: int = 0
    unusable_seeds: int = 0  # smith's exit 2: "try another seed"
    refused: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    worst_overshoot_ms: float = 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "generated": self.generated,
            "unusable_seeds": self.unusable_seeds,
            "refused": dict(self.refused),
            "ran": sum(self.statuses.values()),
            "statuses": dict(self.statuses),
            "crashes": len(self.crashes),
            "hangs": len(self.hangs),
            "worst_overshoot_ms": round(self.worst_overshoot_ms, 1),
            "first_crashes": self.crashes[:5],
            "first_hangs": self.hangs[:5],
        }


def generate(seed_bytes: bytes, shape: Path, imports: Path, out: Path) -> bytes | None:
    """One module from `seed_bytes` (written to `out`), or None when smith cannot use the seed."""
    smith = subprocess.run(
        [
            wasm_tools(),
            "smith",
            "--exports",
            str(shape),
            "--available-imports",
            str(imports),
            *SMITH_OPTIONS,
            "-o",
            str(out),
        ],
        input=seed_bytes,
        capture_output=True,
        check=False,
    )
    if smith.returncode == 2:
        return None
    if smith.returncode != 0:
        raise RuntimeError(f"wasm-tools smith failed ({smith.returncode}): {smith.stderr[-500:]!r}")
    return out.read_bytes()


def run_modules(count: int, seed: int, workdir: Path) -> Outcomes:
    """Generates, signs, puts and runs `count` modules on one node in this process."""
    from vyr import _core
    from vyr.errors import VyrError
    from vyr.runtime import Runtime
    from vyr.types import Resources

    shape = assemble(SOURCES / "shape.wat", workdir / "shape.wasm")
    imports = assemble(SOURCES / "wasi_imports.wat", workdir / "imports.wasm")
    private_key, public_key = _core.generate_keypair()
    rng = random.Random(seed)
    outcomes = Outcomes()
    node = Runtime(workdir / "home", state_dir=str(workdir / "states"))
    try:
        node.trust_add(public_key)
        while outcomes.generated < count:
            module = generate(
                rng.randbytes(rng.randrange(64, 4096)), shape, imports, workdir / "module.wasm"
            )
            if module is None:
                outcomes.unusable_seeds += 1
                continue
            outcomes.generated += 1
            label = f"module {outcomes.generated} (seed {seed})"
            manifest = _core.make_manifest(f"smith-{outcomes.generated}", module, private_key)
            signature = _core.sign(private_key, manifest)
            try:
                digest = node.put_artifact(
                    _core.sha256_digest(module), manifest, signature, module
                ).digest
            except VyrError as error:
                outcomes.refused[type(error).__name__] += 1
                continue
            except Exception as error:
                outcomes.crashes.append(f"{label}: put raised {error!r}")
                continue
            fuel = FUEL if outcomes.generated % 4 == 0 else None
            resources = Resources(memory_bytes=MEMORY_BYTES, timeout_s=TIMEOUT_S, fuel=fuel)
            try:
                result = node.run(digest, rng.randbytes(64), resources=resources)
            except Exception as error:  # refusals at submit are bugs too: the module was put
                outcomes.crashes.append(f"{label}: run raised {error!r}")
                continue
            back = time.time_ns()
            outcomes.statuses[result.status] += 1
            started = result.phases.get("artifact_ready") or result.phases.get("queued", back)
            overshoot_ns = back - started - round(TIMEOUT_S * 1e9)
            outcomes.worst_overshoot_ms = max(outcomes.worst_overshoot_ms, overshoot_ns / 1e6)
            if overshoot_ns > HANG_MARGIN_NS:
                outcomes.hangs.append(f"{label}: {result.status}, {overshoot_ns / 1e6:.0f} ms late")
    finally:
        node.close()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """`python -m hostile.smith`: prints the summary as JSON; exit 1 on any crash or hang."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vyr-smith-") as workdir:
        summary = {
            "seed": args.seed,
            **run_modules(args.modules, args.seed, Path(workdir)).summary(),
        }
    print(json.dumps(summary, indent=2))
    return 1 if summary["crashes"] or summary["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
