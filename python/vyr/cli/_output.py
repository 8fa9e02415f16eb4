"""How the CLI talks: data to stdout, messages to stderr, `error:`/`hint:` and exit codes.

Exit codes (docs/cli.md): 0 success; 1 the command failed; 2 a usage error (the command line
itself is wrong: a malformed or out-of-range value, an unknown option, a key file of the wrong
kind); `vyr run` and `vyr task wait` exit with the guest's code, 124 for a missed deadline and
125 for another VYR-side failure.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import click

from vyr import errors

EXIT_ERROR = 1
EXIT_USAGE = 2
# `vyr run` and `vyr task wait`: the guest's own exit code, else these.
EXIT_DEADLINE = 124
EXIT_VYR_FAILURE = 125

# A value on the command line the node refused as malformed or out of range.
USAGE_ERRORS: tuple[type[errors.VyrError], ...] = (
    errors.InvalidArchive,  # `--from` content that leaves the state or holds devices
    errors.InvalidDigest,
    errors.InvalidKey,
    errors.InvalidResources,
    errors.InvalidState,
)
# For the commands that start a task, also a REF or --state that names nothing.
TASK_USAGE_ERRORS = (*USAGE_ERRORS, errors.ArtifactNotFound, errors.StateNotFound)


def use_color() -> bool:
    """Color only on a terminal, and never when NO_COLOR is set."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def exit_code_for(
    error: BaseException, default: int = EXIT_ERROR, *, starts_task: bool = False
) -> int:
    """EXIT_USAGE for an error in the command line's own values, else `default`."""
    usage = TASK_USAGE_ERRORS if starts_task else USAGE_ERRORS
    return EXIT_USAGE if isinstance(error, usage) else default


def fail(
    error: BaseException | str, *, code: int | None = None, hint: str | None = None
) -> NoReturn:
    """Prints `error: ...` (and one `hint: ...`) to stderr and exits non-zero: `code`, else
    what `exit_code_for` says."""
    if isinstance(error, str):
        message, own_hint, usual = error, None, EXIT_ERROR
    else:
        usual = exit_code_for(error)
        from vyr.cli._explain import explain
        from vyr.cli._node import current_node

        message, own_hint = explain(error, current_node(click.get_current_context(silent=True)))
    report(message, hint or own_hint)
    sys.exit(code if code is not None else usual)


def report(message: str, hint: str | None) -> None:
    """The `error:` line and, when there is one, the `hint:` line, on stderr."""
    color = use_color()
    label = click.style("error:", fg="red", bold=True) if color else "error:"
    click.echo(f"{label} {message}", err=True)
    if hint:
        click.echo((click.style("hint:", fg="cyan") if color else "hint:") + f" {hint}", err=True)


def report_usage(error: click.UsageError) -> None:
    """A click usage error in the same `error:`/`hint:` form as every other error."""
    message = error.format_message()
    message = message[:1].lower() + message[1:]
    hint = getattr(error, "hint", None)
    if hint is None and error.ctx is not None:
        hint = f"usage: {error.ctx.get_usage().removeprefix('Usage: ')}; more: '{error.ctx.command_path} --help'"
    report(message, hint)


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
