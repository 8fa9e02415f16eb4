"""The mutation fuzzer's short form (issue 13, "Keep the probes"): `VYR_HOSTILE_CASES` mutated
artifacts and bundles (default 2,000; the long form, `make hostile-long`, runs 10,000 or more),
seeded by `VYR_HOSTILE_SEED` (default 13), against one embedded node: 0 accepted, 0 crashes,
and the unmutated artifact still accepted afterwards."""

from __future__ import annotations

import os
from pathlib import Path

from hostile.mutate import fuzz

CASES = int(os.environ.get("VYR_HOSTILE_CASES", "2000"))
SEED = int(os.environ.get("VYR_HOSTILE_SEED", "13"))


def test_no_mutated_artifact_or_bundle_is_accepted(tmp_path: Path, guests: Path) -> None:
    result = fuzz(CASES, SEED, tmp_path)
    artifacts, bundles = result["artifacts"], result["bundles"]
    print(f"\nmutation fuzz, seed {SEED}: {artifacts} {bundles}")
    assert artifacts["tried"] + bundles["tried"] == CASES
    assert (artifacts["accepted"], artifacts["crashes"]) == (0, 0), artifacts
    assert (bundles["accepted"], bundles["crashes"]) == (0, 0), bundles
    assert result["stored_by_artifact_cases"] == []
    assert result["reference_accepted"], "the unmutated artifact was refused: the probe is broken"
    # Every family of mutation was exercised, so a refusal count of 0 cannot hide a dead branch.
    assert set(artifacts["kinds"]) == {
        "digest",
        "manifest",
        "signature",
        "module",
        "module+digest",
        "manifest-field",
        "manifest-field-resigned-untrusted",
        "mix",
    }
    assert len(bundles["kinds"]) == 6
