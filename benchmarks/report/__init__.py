"""The one report generator: `docs/benchmarks.md` from the benchmarks' JSON.

    python -m benchmarks.report [--only micro|comparison] [--daemon-input RAW.json]
    python -m benchmarks.report --standalone --compare-input J --output M   # make bench-quick

The page has two parts: the micro-benchmarks (`micro.py`, from pytest-benchmark's
`docs/data/bench-raw.json`) and, in a marked block after them, the comparison with the
container baseline (`comparison_page.py`, from `docs/data/benchmarks.json`, with the charts of
`charts.py`). Both share the number formats and tables of `markdown.py`.
"""
