"""`python -m benchmarks.report`: writes `docs/benchmarks.md` (both parts by default; `--only`
rewrites one part and keeps the other as the page has it), or with `--standalone` a page with
the comparison alone (`make bench-quick`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.report import cases, comparison_page, micro
from benchmarks.report.markdown import comparison_block, micro_part, shown_path, with_comparison
from harness import REPO

RAW = REPO / "docs" / "data" / "bench-raw.json"
OUTPUT = REPO / "docs" / "benchmarks.md"
QUICK_OUTPUT = REPO / "build" / "bench-quick" / "benchmarks.md"


def micro_page(raw: Path, daemon_input: Path | None) -> str:
    """The micro-benchmark part; with `daemon_input`, its daemon group comes from that run."""
    found, machine, when = cases.load(raw)
    separate: dict[str, list[str]] = {}
    if daemon_input is not None:
        daemon_cases, daemon_machine, daemon_when = cases.load(daemon_input)
        found = {key: case for key, case in found.items() if case.group != "daemon"}
        found.update({key: case for key, case in daemon_cases.items() if case.group == "daemon"})
        load_start = daemon_machine.get("vyr", {}).get("loadavg_start", "?")
        separate["daemon"] = [
            (
                f"Measured in a separate run of this file alone, at {daemon_when} (load average "
                f"{load_start} at the start); its ratios compare cases of that run. Reproduce:"
            ),
            "",
            "```sh",
            micro.DAEMON_COMMAND,
            ".venv/bin/python -m benchmarks.report --only micro --daemon-input "
            + shown_path(daemon_input),
            "```",
            "",
        ]
    return micro.render(found, machine, when, separate)


def main(argv: list[str] | None = None) -> None:
    """Parses the options and writes the page."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description="Write docs/benchmarks.md from the JSON."
    )
    parser.add_argument("--input", type=Path, default=RAW, help="pytest-benchmark's JSON")
    parser.add_argument(
        "--compare-input", type=Path, default=comparison_page.DATA, help="the comparison records"
    )
    parser.add_argument("--output", type=Path, help=f"default {shown_path(OUTPUT)}")
    parser.add_argument("--img-dir", type=Path, help="charts (default: img/ beside the page)")
    parser.add_argument(
        "--daemon-input",
        type=Path,
        help="the daemon group from this JSON instead (a run of benchmarks/test_bench_daemon.py alone)",
    )
    parser.add_argument("--only", choices=("micro", "comparison"), help="rewrite one part only")
    parser.add_argument(
        "--standalone", action="store_true", help="a page with the comparison alone"
    )
    options = parser.parse_args(argv)
    output: Path = options.output or (QUICK_OUTPUT if options.standalone else OUTPUT)
    img_dir: Path = options.img_dir or output.parent / "img"

    def comparison() -> list[str]:
        return comparison_page.sections(options.compare_input, img_dir, output.parent)

    if options.standalone:
        page = "\n".join(["# Benchmarks: comparison", "", *comparison()])
    else:
        existing = output.read_text() if output.exists() else ""
        kept = comparison_block(existing)
        if options.only == "comparison":
            head = micro_part(existing) if existing else "# Benchmarks\n"
            page = with_comparison(head, comparison())
        else:
            head = micro_page(options.input, options.daemon_input)
            if options.only == "micro" or not options.compare_input.exists():
                page = head if kept is None else with_comparison(head, kept)
            else:
                page = with_comparison(head, comparison())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
