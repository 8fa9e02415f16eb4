"""Writes (or checks) every generated part of the whitepaper: its marked blocks and its images.

A block in docs/whitepaper.md is

    <!-- generated: NAME -->
    ...
    <!-- /generated -->

and everything between the two markers is replaced by BLOCKS[NAME] rendered from docs/data/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from scripts.whitepaper import charts, diagram, findings, tables
from scripts.whitepaper.data import Data, load

PAPER = "docs/whitepaper.md"
DIAGRAM = "docs/img/wp-architecture.svg"

BLOCKS: dict[str, Callable[[Data], str]] = {
    "machine": tables.machine,
    "claims": findings.claims,
    "portability": findings.portability,
    "portability-receipts": findings.portability_receipts,
    "warm": tables.warm,
    "cold": tables.cold,
    "throughput": tables.throughput,
    "memory": tables.memory,
    "artifacts": tables.artifacts,
    "cpu-stop": tables.cpu_and_stop,
    "micro": tables.micro,
    "daemon": tables.daemon,
    "telemetry": tables.telemetry,
    "receipts": tables.receipts,
    "states": tables.states,
    "not-winning": findings.not_winning,
    "cost-model": findings.cost_model,
    "cost-model-memory": findings.cost_model_memory,
    "cited": lambda data: findings.cited(),
    "reproduce": findings.reproduce,
}

BLOCK = re.compile(r"(<!-- generated: ([a-z-]+) -->\n)(.*?)(<!-- /generated -->)", re.DOTALL)


class UnknownBlock(KeyError):
    """The paper names a generated block this generator does not know."""


def render_paper(text: str, data: Data) -> str:
    """`text` with every generated block rewritten."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise UnknownBlock(f"{PAPER}: no generator for block {name!r}")
        return f"{match.group(1)}{BLOCKS[name](data).rstrip()}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def render(root: Path) -> dict[str, str]:
    """Every generated file under `root` (a checkout), by its path relative to the root."""
    data = load(root)
    files = {PAPER: render_paper((root / PAPER).read_text(), data), DIAGRAM: diagram.render(root)}
    files.update({path: chart(data) for path, chart in charts.CHARTS.items()})
    return files


def write(root: Path) -> list[str]:
    """Regenerate under `root`; returns the paths whose content changed."""
    changed = []
    for path, content in render(root).items():
        target = root / path
        if not target.exists() or target.read_text() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            changed.append(path)
    return changed
