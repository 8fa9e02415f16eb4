"""VYR against the Kubernetes-Job container baseline (issue 6): `pytest benchmarks/compare`."""
