"""Installs the project's dependencies from pyproject.toml, without building the project.

    python scripts/install_deps.py dev               # [project] dependencies + the dev extra
    python scripts/install_deps.py --only-extras bench hostile
    python scripts/install_deps.py --dry-run dev     # print the requirements, install nothing

`pip install -e .[dev]` would also compile the Rust extension (the maturin backend) in a
throw-away build; the Makefile leaves that to `maturin develop`, so this installs only the
requirement strings, with this interpreter's pip. pyproject.toml stays the one list of pins.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


class UnknownExtra(ValueError):
    """An extra that pyproject.toml does not define."""


def requirements(
    pyproject: dict[str, Any], extras: Sequence[str], *, include_base: bool = True
) -> list[str]:
    """The requirement strings for `extras` (and `[project] dependencies` unless
    `include_base` is false), in file order, each once."""
    project = pyproject["project"]
    defined = project.get("optional-dependencies", {})
    unknown = [name for name in extras if name not in defined]
    if unknown:
        raise UnknownExtra(
            f"pyproject.toml defines no extra {', '.join(map(repr, unknown))}"
            f" (it has: {', '.join(sorted(defined)) or 'none'})"
        )
    chosen = list(project.get("dependencies", [])) if include_base else []
    for name in extras:
        chosen.extend(defined[name])
    # dict keeps first-seen order: a pin shared by two extras is passed to pip once.
    return list(dict.fromkeys(chosen))


def pip_install(python: str, requirement_list: Sequence[str]) -> list[str]:
    """The pip command that installs `requirement_list` into `python`'s environment."""
    return [python, "-m", "pip", "install", "--quiet", *requirement_list]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", metavar="EXTRA", help="optional-dependency groups")
    parser.add_argument(
        "--only-extras", action="store_true", help="leave out the [project] dependencies"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the requirements only")
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    with options.pyproject.open("rb") as file:
        pyproject = tomllib.load(file)
    try:
        wanted = requirements(pyproject, options.extras, include_base=not options.only_extras)
    except UnknownExtra as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.dry_run:
        print(*wanted, sep="\n")
        return 0
    if not wanted:
        return 0
    return subprocess.run(pip_install(sys.executable, wanted), check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
