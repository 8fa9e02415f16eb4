"""Support code shared by `tests/`, `benchmarks/` and `environments/`: one copy of each helper.

- `harness.guests`: the reference guests (built when missing), one-file guests compiled with
  the same toolchain, and signed copies of them.
- `harness.daemon`: a `vyr daemon` (or any server that logs the same `listening on` lines) as
  a subprocess, stopped with SIGTERM then SIGKILL.
- `harness.otlp`: a real OTLP receiver (gRPC and HTTP) that decodes what arrives, in this
  process or in its own (`python -m harness.otlp`).
- `harness.stats`: nearest-rank percentiles.
- `harness.grpc_server`: a `grpc.aio` server in this process (the daemon's interceptors in front
  of a test's own servicer).

It is imported from the repository root: pytest adds the root to the import path (`pythonpath`
in pyproject.toml) and scripts run as modules from there (`python -m environments.run`), so no
file changes the import path itself.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
"""The repository root."""
