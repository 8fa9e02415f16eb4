"""pytest-benchmark cases (`make bench`), the container comparison (`benchmarks/compare/`), its
container baseline (`benchmarks/baseline/`) and the report generator (`python -m
benchmarks.report`), importable from the repository root."""
