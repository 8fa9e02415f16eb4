"""The conformance runner reuses the CLI tests' fresh-HOME shell (tests/cli/cli_harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
