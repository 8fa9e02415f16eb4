"""`python -m scripts.whitepaper [--check]`: regenerate the whitepaper's figures from docs/data/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scripts.whitepaper.generate import render, write

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    """Write the generated parts, or with --check report the stale ones and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m scripts.whitepaper", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if anything is stale")
    arguments = parser.parse_args()
    if arguments.check:
        stale = [
            path
            for path, content in render(ROOT).items()
            if not (ROOT / path).exists() or (ROOT / path).read_text() != content
        ]
        for path in stale:
            print(f"stale: {path} (run: python -m scripts.whitepaper)", file=sys.stderr)
        return 1 if stale else 0
    for path in write(ROOT):
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
