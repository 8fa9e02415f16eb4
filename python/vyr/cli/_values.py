"""Option and argument value types: each refuses a bad value as a usage error (exit 2) that
names the option and its valid range, never a traceback.

Ranges (docs/cli.md): a time limit is 0.001 s up to `MAX_SECONDS`; sizes and counts are
1 up to 2**64-1, what the core's u64 fields hold. The node applies its own, usually lower,
ceilings on top (e.g. a 24 h task timeout) and names them when it refuses.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # click's ParamType is generic in its stubs, not in every click at run time
    _ParamType = click.ParamType[Any, Any]
else:
    _ParamType = click.ParamType

U64_MAX = 2**64 - 1
# The widest deadline a signed 64-bit nanosecond clock can hold: (2**63-1) ns, ~292 years.
MAX_SECONDS = (2**63 - 1) // 10**9
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_LOOSE_DIGEST = re.compile(r"(?:sha256:)?([0-9a-f]{64})", re.IGNORECASE)


class UsageProblem(click.BadParameter):
    """A bad value, with a hint of its own (e.g. "did you mean ...") for the usage report."""

    def __init__(self, message: str, hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.hint = hint


class Seconds(_ParamType):
    """A finite number of seconds within [minimum, MAX_SECONDS]."""

    name = "seconds"

    def __init__(self, minimum: float = 0.001) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        valid = f"valid: {self.minimum:g} to {MAX_SECONDS} seconds"
        try:
            seconds = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number of seconds ({valid})", param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds ({valid})", param, ctx)
        if not self.minimum <= seconds <= MAX_SECONDS:
            self.fail(f"{value!r} is out of range ({valid})", param, ctx)
        return seconds


class Count(_ParamType):
    """A whole number within [minimum, maximum] (default 1 .. 2**64-1)."""

    name = "integer"

    def __init__(self, minimum: int = 1, maximum: int = U64_MAX) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).replace("_", ""), 10)
            except ValueError:
                self.fail(f"{value!r} is not a whole number ({self._valid()})", param, ctx)
        if not self.minimum <= number <= self.maximum:
            self.fail(f"{value!r} is out of range ({self._valid()})", param, ctx)
        return number

    def _valid(self) -> str:
        top = "2**64-1" if self.maximum == U64_MAX else str(self.maximum)
        return f"valid: {self.minimum} to {top}"


class Size(_ParamType):
    """A byte count: `65536`, `64K`, `64KiB`, `256M`, `1G` (binary multiples), 1 .. maximum
    (default 2**64-1)."""

    name = "size"

    def __init__(self, maximum: int = U64_MAX) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        top = "2**64-1" if self.maximum == U64_MAX else str(self.maximum)
        valid = f"valid: 1 to {top} bytes, e.g. 65536, 64K, 64M, 1G"
        try:
            size = parse_size(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a size ({valid})", param, ctx)
        if not 1 <= size <= self.maximum:
            self.fail(f"{value!r} is out of range ({valid})", param, ctx)
        return size


class Digest(_ParamType):
    """A `sha256:` digest (or key id): 'sha256:' and 64 lowercase hex digits. A value that is
    only missing the prefix or in upper case is refused with a "did you mean"."""

    name = "digest"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = digest_problem(str(value))
        if problem is not None:
            raise UsageProblem(problem[0], problem[1], ctx=ctx, param=param)
        return str(value)


def parse_size(text: str) -> int:
    """`65536`, `64K`, `64KiB`, `256M`, `1G`, `1T` -> bytes (binary multiples); ValueError
    when it is not a size."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in "KMGT" else (cleaned, "")
    if not number.isdigit():
        raise ValueError(text)
    return int(number) * _SIZE_UNITS[unit]


def digest_problem(text: str) -> tuple[str, str] | None:
    """None for a well-formed digest, else (message, hint), the hint a "did you mean" when
    only the prefix or the case is wrong."""
    if _DIGEST.fullmatch(text):
        return None
    expected = "expected 'sha256:' followed by 64 lowercase hex digits"
    loose = _LOOSE_DIGEST.fullmatch(text.strip())
    if loose is not None:
        return f"{text!r} is not a digest: {expected}", f"did you mean sha256:{loose[1].lower()}?"
    return (
        f"{text!r} is not a digest: {expected}",
        "copy it from 'vyr artifact ls' or 'vyr trust ls'",
    )
