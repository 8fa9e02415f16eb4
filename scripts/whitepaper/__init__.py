"""The whitepaper generator: docs/data/*.json -> generated blocks and charts (issue 15)."""
