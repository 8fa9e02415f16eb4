"""How the paper prints a quantity: three significant digits, one unit per magnitude."""

from __future__ import annotations


def sig(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, with thousands separators and no exponent."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{float(text):.0f}"
    whole, _, fraction = text.partition(".")
    whole = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    return f"{whole}.{fraction}" if fraction else whole


def seconds(value: float) -> str:
    """A duration: µs below 1 ms, ms below 1 s, else s."""
    if value < 1e-3:
        return f"{sig(value * 1e6)} µs"
    if value < 1:
        return f"{sig(value * 1e3)} ms"
    return f"{sig(value)} s"


def size(value: float) -> str:
    """A byte count in KB / MB (powers of 1,000, as the benchmark report prints them)."""
    if value < 1e3:
        return f"{value:.0f} B"
    if value < 1e6:
        return f"{sig(value / 1e3)} KB"
    if value < 1e9:
        return f"{sig(value / 1e6)} MB"
    return f"{sig(value / 1e9)} GB"


def rate(value: float) -> str:
    """Tasks per second."""
    return f"{sig(value)}/s"


def ratio(value: float) -> str:
    """A ratio such as 18.3×."""
    return f"{sig(value)}×"


def percent(value: float) -> str:
    """A fraction as a percentage (0.031 → 3.1 %)."""
    return f"{sig(value * 100, 2)} %"
