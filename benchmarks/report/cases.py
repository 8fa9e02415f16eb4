"""The micro-benchmark results: pytest-benchmark's JSON (`docs/data/bench-raw.json`) as one
`Case` per benchmark, under its `extra_info["key"]`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.stats import percentile


@dataclass(frozen=True)
class Case:
    """One benchmark from the JSON, under its `extra_info["key"]`."""

    key: str
    group: str
    label: str
    baseline: bool
    data: list[float]
    stats: dict[str, Any]
    extra: dict[str, Any]

    @property
    def median(self) -> float:
        """The median round, as pytest-benchmark computed it."""
        return float(self.stats["median"])

    def p(self, fraction: float) -> float:
        """Nearest-rank percentile over the rounds."""
        return percentile(self.data, fraction)


Cases = dict[str, Case]


def load(path: Path) -> tuple[Cases, dict[str, Any], str]:
    """(the cases, pytest-benchmark's machine info, when the run was) from one JSON file."""
    raw = json.loads(path.read_text())
    cases: Cases = {}
    for bench in raw["benchmarks"]:
        extra = bench.get("extra_info", {})
        key = extra.get("key", bench["name"])
        cases[key] = Case(
            key=key,
            group=bench["group"] or "",
            label=extra.get("label", bench["name"]),
            baseline=bool(extra.get("baseline")),
            data=list(bench["stats"].get("data") or [bench["stats"]["median"]]),
            stats=bench["stats"],
            extra=extra,
        )
    return cases, raw.get("machine_info", {}), raw.get("datetime", "unknown")
