"""What loading optimised code from the compiled cache costs a task after a restart (issue 13
item 6: each cache file's seal is checked before its code is loaded).

For each reference guest: put it, run it once, wait until Cranelift's code is in the disk cache,
then reopen the node `--restarts` times and time the first task of each reopened node from
`queued` to `artifact_ready` (verify the artifact, read and check the cache file, load the
code). Prints a JSON summary: median and max in ms, and the cache file's size.

    python -m hostile.cache_load --restarts 20
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

GUESTS = ("hello", "event-transform")
BUILD = Path(__file__).resolve().parent.parent / "workloads" / "build"
CACHE_WRITTEN_S = 60.0


def _open(home: Path, public_key: str) -> Any:
    from vyr.runtime import Runtime

    node = Runtime(home, state_dir=str(home.parent / "states"))
    node.trust_add(public_key)
    return node


def measure(name: str, restarts: int, scratch: Path) -> dict[str, Any]:
    """Load times (ms) of the first task after each of `restarts` reopenings, for guest `name`."""
    from vyr.keys import generate_key, sign_module

    private, public = generate_key(scratch / f"{name}.key")
    module = scratch / f"{name}.wasm"
    shutil.copy(BUILD / f"{name}.wasm", module)
    sign_module(module, private)
    home = scratch / f"home-{name}"
    node = _open(home, public.read_text())
    digest = node.put_module_file(module).digest
    node.run(digest, b"warm")
    give_up = time.monotonic() + CACHE_WRITTEN_S
    while not (found := list(home.glob(f"cache/compiled/*/{digest[7:]}.cwasm"))):
        if time.monotonic() > give_up:
            raise RuntimeError(f"{name}: the compiled cache was not written")
        time.sleep(0.02)
    node.close()
    loads = []
    for _ in range(restarts):
        node = _open(home, public.read_text())
        result = node.run(digest, b"warm")
        node.close()
        assert result.usage["tier"] == "optimized" and not result.usage["compiled"], result.usage
        loads.append((result.phases["artifact_ready"] - result.phases["queued"]) / 1e6)
    return {
        "guest": name,
        "cache_file_bytes": found[0].stat().st_size,
        "restarts": restarts,
        "load_ms_median": round(statistics.median(loads), 3),
        "load_ms_max": round(max(loads), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=20)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = [measure(name, arguments.restarts, Path(scratch)) for name in GUESTS]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
