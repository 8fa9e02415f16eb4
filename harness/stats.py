"""Statistics for benchmark samples: nearest-rank percentiles, so a reported p99 is always a
value that was actually observed (with 100 rounds, the second-worst)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values`, `fraction` in 0..1."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def spread(values_s: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max of durations in seconds and how many there were, for `extra_info`."""
    return {
        "p50_s": percentile(values_s, 0.50),
        "p99_s": percentile(values_s, 0.99),
        "max_s": max(values_s),
        "samples": len(values_s),
    }
