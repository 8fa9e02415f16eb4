"""Charts and boxes as plain SVG text, so the paper's images need no plotting library.

The output is deterministic (fixed float formatting, no timestamps): the freshness test compares
it byte for byte with what is committed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
PALETTE = ("#1f5fa8", "#e07b24", "#3d9a50", "#b8403a", "#7b5aa6", "#8c6d31")


@dataclass(frozen=True)
class Bar:
    """One bar: its row label, its series (colour) and its value in the chart's unit."""

    label: str
    series: str
    value: float
    text: str


def _number(value: float) -> str:
    return f"{value:.1f}"


def bar_chart(title: str, axis: str, bars: list[Bar], *, log: bool = True) -> str:
    """A horizontal bar chart, one group per label, one colour per series, log scale by default.

    A log axis is the honest one here: the systems differ by up to four orders of magnitude.
    """
    labels = list(dict.fromkeys(bar.label for bar in bars))
    series = list(dict.fromkeys(bar.series for bar in bars))
    bar_height, gap, left, right, top = 16, 12, 130, 40, 48
    per_group = bar_height * len([s for s in series]) + gap
    height = top + per_group * len(labels) + 60
    width = 720
    values = [bar.value for bar in bars if bar.value > 0]
    # Half the smallest value still gets a visible bar (a value of exactly 1 on a log axis from
    # 1 would have none).
    low = 10 ** math.floor(math.log10(min(values) / 2)) if log else 0.0
    high = 10 ** math.ceil(math.log10(max(values))) if log else max(values) * 1.1

    def x_of(value: float) -> float:
        span = width - left - right
        if log:
            clipped = max(value, low)
            return left + span * (math.log10(clipped) - math.log10(low)) / (
                math.log10(high) - math.log10(low)
            )
        return left + span * value / high

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='12'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{width / 2:.0f}' y='22' text-anchor='middle' font-size='15' "
        f"font-weight='bold'>{escape(title)}</text>",
    ]
    plot_bottom = top + per_group * len(labels)
    ticks = _ticks(low, high, log)
    for tick in ticks:
        x = _number(x_of(tick))
        parts.append(
            f"<line x1='{x}' y1='{top - 6}' x2='{x}' y2='{plot_bottom}' stroke='#dddddd'/>"
        )
        parts.append(
            f"<text x='{x}' y='{plot_bottom + 16}' text-anchor='middle' fill='#444444'>"
            f"{escape(_tick_label(tick))}</text>"
        )
    parts.append(
        f"<text x='{(left + width - right) / 2:.0f}' y='{plot_bottom + 36}' "
        f"text-anchor='middle'>{escape(axis)}{' (log scale)' if log else ''}</text>"
    )
    for group_index, label in enumerate(labels):
        group_top = top + group_index * per_group
        parts.append(
            f"<text x='{left - 8}' y='{group_top + per_group / 2 - gap / 2 + 4:.1f}' "
            f"text-anchor='end' font-weight='bold'>{escape(label)}</text>"
        )
        row = 0
        for name in series:
            bar = next((b for b in bars if b.label == label and b.series == name), None)
            if bar is None:
                continue
            y = group_top + row * bar_height
            end = x_of(bar.value)
            colour = PALETTE[series.index(name) % len(PALETTE)]
            parts.append(
                f"<rect x='{left}' y='{y}' width='{_number(max(end - left, 1.0))}' "
                f"height='{bar_height - 3}' fill='{colour}'/>"
            )
            label_text = f"{escape(name)}: {escape(bar.text)}"
            # About 6 px per character at 11 px: a label that would run off the right edge is
            # drawn inside its bar instead, right-aligned in white.
            if end + 4 + 6 * len(f"{name}: {bar.text}") > width - 4:
                parts.append(
                    f"<text x='{_number(end - 4)}' y='{y + bar_height - 5}' font-size='11' "
                    f"text-anchor='end' fill='white'>{label_text}</text>"
                )
            else:
                parts.append(
                    f"<text x='{_number(end + 4)}' y='{y + bar_height - 5}' font-size='11'>"
                    f"{label_text}</text>"
                )
            row += 1
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        count = round(math.log10(high) - math.log10(low))
        return [low * 10**step for step in range(count + 1)]
    step = 10 ** math.floor(math.log10(high / 2))
    return [step * index for index in range(int(high / step) + 1)]


def _tick_label(value: float) -> str:
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:g}"


@dataclass(frozen=True)
class Box:
    """A labelled box of the architecture diagram, in grid units (column, row, span)."""

    column: int
    row: int
    span: int
    title: str
    detail: str
    fill: str


def box_diagram(title: str, boxes: list[Box], arrows: list[tuple[int, int, str]]) -> str:
    """Boxes on a grid with vertical arrows between boxes (by index), each with a label."""
    cell_width, cell_height, margin, top = 230, 74, 20, 44
    columns = max(box.column + box.span for box in boxes)
    rows = max(box.row for box in boxes) + 1
    width = margin * 2 + cell_width * columns
    height = top + cell_height * rows + margin
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='11'>",
        "<defs><marker id='arrow' markerWidth='8' markerHeight='8' refX='7' refY='4' "
        "orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#333333'/></marker></defs>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{width / 2:.0f}' y='24' text-anchor='middle' font-size='15' "
        f"font-weight='bold'>{escape(title)}</text>",
    ]

    def frame(box: Box) -> tuple[float, float, float, float]:
        x = margin + box.column * cell_width + 6
        y = top + box.row * cell_height + 6
        return x, y, box.span * cell_width - 12, cell_height - 22

    for box in boxes:
        x, y, w, h = frame(box)
        parts.append(
            f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='6' fill='{box.fill}' "
            "stroke='#333333'/>"
        )
        parts.append(
            f"<text x='{x + w / 2:.1f}' y='{y + 18}' text-anchor='middle' font-size='13' "
            f"font-weight='bold'>{escape(box.title)}</text>"
        )
        for line_index, line in enumerate(box.detail.split("\n")):
            parts.append(
                f"<text x='{x + w / 2:.1f}' y='{y + 33 + 12 * line_index}' "
                f"text-anchor='middle' fill='#222222'>{escape(line)}</text>"
            )
    for source, target, label in arrows:
        sx, sy, sw, sh = frame(boxes[source])
        tx, ty, tw, _ = frame(boxes[target])
        # Arrows leave the bottom edge of the source and enter the top edge of the target,
        # at the middle of the columns the two boxes share.
        left = max(sx, tx)
        right = min(sx + sw, tx + tw)
        x = (left + right) / 2 if right > left else tx + tw / 2
        parts.append(
            f"<line x1='{x:.1f}' y1='{sy + sh}' x2='{x:.1f}' y2='{ty - 1}' stroke='#333333' "
            "marker-end='url(#arrow)'/>"
        )
        if label:
            parts.append(
                f"<text x='{x + 5:.1f}' y='{(sy + sh + ty) / 2 + 4:.1f}' font-size='10' "
                f"fill='#444444'>{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
