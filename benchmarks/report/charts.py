"""The comparison's charts: PNGs drawn with matplotlib (a bench-only dependency, installed by
`make bench-deps`), one bar chart per figure and the throughput curve."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.compare.compare_measure import SYSTEMS
from benchmarks.report.comparison import latency_rows, pick, value, variant_label
from benchmarks.report.markdown import duration, size

COLORS = {"vyr-embedded": "#1f77b4", "vyr-daemon": "#6baed6", "containerd-runc": "#d62728",
          "wasmtime-py": "#2ca02c", "native": "#7f7f7f"}  # fmt: skip


def charts(records: Sequence[dict[str, Any]], img_dir: Path) -> list[str]:
    """Writes the PNGs; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def bars(name: str, title: str, rows: list[tuple[str, float, str]], unit: str) -> None:
        if not rows:
            return
        figure, axes = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
        labels = [label for label, _, _ in rows]
        axes.barh(labels, [v for _, v, _ in rows], color=[c for _, _, c in rows])
        axes.set_xscale("log")
        axes.invert_yaxis()
        axes.set_xlabel(unit + " (log scale)")
        axes.set_title(title)
        for index, (_, v, _) in enumerate(rows):
            axes.text(v, index, " " + (duration(v) if unit == "seconds" else size(v)),
                      va="center", fontsize=8)  # fmt: skip
        figure.tight_layout()
        figure.savefig(img_dir / name, dpi=110)
        plt.close(figure)
        written.append(name)

    warm_rows = [(f"{row['label']} · {w}", row["p50"], COLORS[row["label"].split(" ")[0]])
                 for w in ("hello", "event-transform") for row in latency_rows(records, w)]  # fmt: skip
    bars("bench-warm-latency.png", "Warm task latency, p50", warm_rows, "seconds")
    cold_rows = [(variant_label(r), r["value"], COLORS[r["system"]])
                 for r in pick(records, metric="cold_start_s")]  # fmt: skip
    bars("bench-cold-start.png", "Cold start (never-seen artifact or image), median", cold_rows,
         "seconds")  # fmt: skip
    mem_rows = [(s, v, COLORS[s]) for s in SYSTEMS
                if (v := value(records, system=s, metric="peak_rss_per_task_bytes"))]  # fmt: skip
    bars("bench-memory-per-task.png", "Peak RSS per concurrent task (8 in flight)", mem_rows,
         "bytes")  # fmt: skip

    found = pick(records, metric="throughput_per_s", workload="hello")
    if found:
        figure, axes = plt.subplots(figsize=(7, 4))
        for system in SYSTEMS:
            points = sorted((r["in_flight"], r["value"]) for r in found if r["system"] == system)
            if points:
                axes.plot([k for k, _ in points], [v for _, v in points], marker="o",
                          label=system, color=COLORS[system])  # fmt: skip
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks([1, 2, 8], ["1", "2", "8"])
        axes.set_xlabel("tasks in flight")
        axes.set_ylabel("tasks/s (log scale)")
        axes.set_title("Throughput, hello")
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(img_dir / "bench-throughput.png", dpi=110)
        plt.close(figure)
        written.append("bench-throughput.png")
    return written
