"""Runs the workloads against a daemon from inside another context (a network namespace).

    python -m environments.driver --endpoint unix:SOCK --bundle B --public-key K.pub \
        --scale '{"events": 1000}' --daemon-pid PID --out outcomes.json --receipts DIR

Trusts the signer and imports the bundle with the `vyr` CLI (so the daemon re-verifies every
signature), then runs the workloads with `vyr.Client` and writes their outcomes as JSON (each final task's
receipt kept in DIR, verified with the daemon's node key).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from dataclasses import asdict
from pathlib import Path

from environments.common import Inputs, PeakRss, Scale, run_workloads, vyr_cli


def probe_unreachable(address: str, port: int) -> str:
    """How connecting to ADDRESS:PORT fails here (the uplink's address, inside our namespaces)."""
    try:
        with socket.create_connection((address, port), timeout=2):
            return "connected"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--public-key", type=Path, required=True)
    parser.add_argument("--scale", default="{}")
    parser.add_argument("--daemon-pid", type=int)
    parser.add_argument("--probe", help="ADDRESS:PORT to try to reach first (recorded, must fail)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--receipts", type=Path, required=True, help="where to keep the receipts")
    options = parser.parse_args(argv)
    from vyr.client import Client

    report: dict[str, object] = {}
    if options.probe:
        address, port = options.probe.rsplit(":", 1)
        report["probe"] = probe_unreachable(address, int(port))
    vyr_cli(None, "trust", "add", str(options.public_key), endpoint=options.endpoint)
    imported = vyr_cli(
        None, "artifact", "import", str(options.bundle), endpoint=options.endpoint
    ).split()
    digests = _stored(options.endpoint)
    report["imported"] = imported
    inputs = Inputs.generate(Scale(**json.loads(options.scale)))
    with Client(options.endpoint) as client:
        outcomes = run_workloads(
            client, digests, inputs, PeakRss(options.daemon_pid), options.receipts
        )
    report["outcomes"] = [asdict(outcome) for outcome in outcomes]
    options.out.write_text(json.dumps(report))
    return 0


def _stored(endpoint: str) -> dict[str, str]:
    """name -> digest of what the daemon stores (just imported from the bundle)."""
    listed = json.loads(vyr_cli(None, "artifact", "ls", "--json", endpoint=endpoint))
    return {entry["name"]: entry["digest"] for entry in listed}


if __name__ == "__main__":
    sys.exit(main())
