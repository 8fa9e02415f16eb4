"""Loading the measured data behind the whitepaper: docs/data/*.json, read once, queried by key.

Nothing here formats: a figure is returned as a number in its own unit (seconds, bytes, tasks/s)
and the renderers decide how to print it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The data files the paper reads, relative to the repository root; section 15 lists them with
# their digests, so a reader can tell which run produced the figures.
DATA_FILES = (
    "docs/data/benchmarks.json",
    "docs/data/bench-raw.json",
    "docs/data/portability.json",
)


class MissingFigure(LookupError):
    """A figure the paper needs is not in the data files (a run was cut short or renamed)."""


@dataclass(frozen=True)
class Data:
    """The three data files: the comparison run, the micro-benchmarks and the portability run."""

    comparison: list[dict[str, Any]]
    micro: dict[str, Any]
    portability: list[dict[str, Any]]
    digests: dict[str, str]

    def comparison_row(
        self, system: str, workload: str, metric: str, **extra: Any
    ) -> dict[str, Any]:
        """One row of docs/data/benchmarks.json; `extra` matches fields such as in_flight."""
        for row in self.comparison:
            if (row["system"], row["workload"], row["metric"]) != (system, workload, metric):
                continue
            if all(row.get(key) == value for key, value in extra.items()):
                return row
        raise MissingFigure(f"benchmarks.json has no {system}/{workload}/{metric} {extra}")

    def value(self, system: str, workload: str, metric: str, **extra: Any) -> float:
        """The `value` of one comparison row."""
        return float(self.comparison_row(system, workload, metric, **extra)["value"])

    def micro_case(self, key: str) -> dict[str, Any]:
        """One pytest-benchmark case of bench-raw.json by its `extra_info.key`."""
        for case in self.micro["benchmarks"]:
            if case.get("extra_info", {}).get("key") == key:
                return dict(case)
        raise MissingFigure(f"bench-raw.json has no case with key {key!r}")

    def micro_info(self, key: str, field: str) -> float:
        """A field of a micro case's extra_info (p50_s, tasks_per_s, ...)."""
        info = self.micro_case(key)["extra_info"]
        if field not in info:
            raise MissingFigure(f"bench-raw.json case {key!r} has no {field!r}")
        return float(info[field])

    def micro_median(self, key: str) -> float:
        """The median of a micro case's rounds, in seconds."""
        return float(self.micro_case(key)["stats"]["median"])

    @property
    def machine(self) -> dict[str, Any]:
        """The comparison run's machine record (every row carries the same one)."""
        return dict(self.comparison[0]["machine"])


def load(root: Path) -> Data:
    """Read every data file under `root` (a checkout)."""
    contents = {name: (root / name).read_bytes() for name in DATA_FILES}
    return Data(
        comparison=json.loads(contents["docs/data/benchmarks.json"]),
        micro=json.loads(contents["docs/data/bench-raw.json"]),
        portability=json.loads(contents["docs/data/portability.json"]),
        digests={name: hashlib.sha256(raw).hexdigest() for name, raw in contents.items()},
    )
