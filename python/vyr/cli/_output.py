"""How the CLI talks: data to stdout, messages to stderr, `error:`/`hint:` and exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import click

# `vyr run` and `vyr task wait`: the guest's own exit code, else these.
EXIT_DEADLINE = 124
EXIT_VYR_FAILURE = 125
EXIT_ERROR = 1


def use_color() -> bool:
    """Color only on a terminal, and never when NO_COLOR is set."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def fail(
    error: BaseException | str, *, code: int = EXIT_ERROR, hint: str | None = None
) -> NoReturn:
    """Prints `error: ...` (and `hint: ...`) to stderr and exits non-zero."""
    color = use_color()
    click.echo(
        click.style("error:", fg="red", bold=True) if color else "error:", nl=False, err=True
    )
    click.echo(f" {error}", err=True)
    hint = hint or getattr(error, "hint", None)
    if hint:
        click.echo(
            ("hint:" if not color else click.style("hint:", fg="cyan")) + f" {hint}", err=True
        )
    sys.exit(code)


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(data, sort_keys=True))


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    """A plain aligned table on stdout."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for row in [headers, *rows]:
        click.echo(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def parse_size(text: str) -> int:
    """`65536`, `64K`, `64KiB`, `256M`, `1G` -> bytes (binary multiples)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in "KMG" else (cleaned, "")
    try:
        value = int(number) * units[unit]
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r} is not a size (examples: 65536, 64M, 1G)") from None
    if value <= 0:
        raise click.BadParameter("must be positive")
    return value
