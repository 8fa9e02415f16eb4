"""The architecture diagram, drawn from its text source docs/diagrams/architecture.txt."""

from __future__ import annotations

from pathlib import Path

from scripts.whitepaper.svg import Box, box_diagram

SOURCE = "docs/diagrams/architecture.txt"


def render(root: Path) -> str:
    """The SVG of the diagram described by the text source under `root`."""
    title = ""
    boxes: list[Box] = []
    arrows: list[tuple[int, int, str]] = []
    for number, line in enumerate((root / SOURCE).read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        fields = [field.strip() for field in rest.split("|")]
        if keyword == "title":
            title = rest.strip()
        elif keyword == "box" and len(fields) == 4:
            column, row, span = (int(word) for word in fields[0].split())
            boxes.append(Box(column, row, span, fields[1], fields[2].replace(";", "\n"), fields[3]))
        elif keyword == "arrow" and len(fields) == 2:
            source, target = (int(word) for word in fields[0].split())
            arrows.append((source, target, fields[1]))
        else:
            raise ValueError(f"{SOURCE}:{number}: cannot read {line!r}")
    return box_diagram(title, boxes, arrows)
