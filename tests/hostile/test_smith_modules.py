"""Random valid modules, short form (issue 13, "Keep the probes"): `VYR_HOSTILE_MODULES` modules
from `wasm-tools smith` (default 200; `make hostile-long` runs thousands), signed and run under
limits by `python -m hostile.smith` in ONE child process: it must not die (a crash in the
engine or a trap handler would kill it), and no task may end later than its deadline + 100 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODULES = int(os.environ.get("VYR_HOSTILE_MODULES", "200"))
SEED = int(os.environ.get("VYR_HOSTILE_SEED", "13"))
REPO = Path(__file__).resolve().parents[2]


def test_random_modules_neither_crash_nor_hang() -> None:
    child = subprocess.run(
        [sys.executable, "-m", "hostile.smith", "--modules", str(MODULES), "--seed", str(SEED)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert child.returncode in (0, 1), (
        f"the process died ({child.returncode}):\n{child.stderr[-3000:]}"
    )
    summary = json.loads(child.stdout)
    print(f"\nsmith, seed {SEED}: {summary}")
    assert summary["generated"] == MODULES
    assert (summary["crashes"], summary["hangs"]) == (0, 0), summary
    # Most modules got past put_artifact and ran, so the limits were really exercised.
    assert summary["ran"] >= MODULES // 2, summary
    assert child.returncode == 0
