"""`make environments`: every workload in every environment, from one exported bundle.

    python -m environments.run [--only cloud --only edge ...] [--events N ...] [--keep]

Signs the built guests with a fresh key, exports them once (`vyr artifact export`), then for each
environment (cloud, edge, disconnected, wasmtime-py) sets it up, imports the bundle, runs the
three workloads and tears it down; each workload's final task's receipt is kept and verified with
its node's key, and the replayable ones are run again on a fresh node (environments/replay.py).
Writes docs/data/portability.json (one record per environment
and workload) and docs/portability.md. Exits 1 if an environment failed or outputs differ.

Nothing outlives the run: each environment tears down in `finally` blocks (daemons stopped,
cgroups and namespaces removed), SIGTERM/SIGINT/SIGHUP unwind through them too, and the
scratch directory (certificates, homes, bundle) is deleted. Leftovers of a run killed with
SIGKILL carry its pid in their names and are removed by the next run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

from environments.common import WORKLOAD_NAMES, Inputs, Scale, prepare_artifacts
from environments.replay import replay_across
from environments.report import render, verdict
from harness import REPO as ROOT

ENVIRONMENTS = {
    "cloud": "environments.cloud",
    "edge": "environments.edge",
    "disconnected": "environments.disconnected",
    "wasmtime-py": "environments.wasmtime_py",
}


class Interrupted(BaseException):
    """A signal arrived: unwind through every teardown."""


def _interrupt(number: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(number).name)


def run_matrix(
    environments: list[str], scale: Scale, work: Path, log: Any = sys.stderr
) -> list[dict[str, Any]]:
    """Runs `environments` x the three workloads in `work`; returns the records (a failed
    environment gives records with an `error` instead of digests)."""
    print(f"signing and exporting the guests ({work})", file=log)
    artifacts = prepare_artifacts(work)
    inputs = Inputs.generate(scale)
    print(
        f"inputs: {scale.events} events, {scale.batches}x{scale.batch_size} readings, "
        f"anomaly {scale.anomaly_count} samples; bundle {artifacts.bundle.stat().st_size} bytes",
        file=log,
    )
    records: list[dict[str, Any]] = []
    for environment in environments:
        module = importlib.import_module(ENVIRONMENTS[environment])
        started = time.perf_counter()
        print(f"[{environment}] setting up", file=log, flush=True)
        try:
            rows = module.run(work / environment, artifacts, inputs)
        except Exception as error:  # one environment failing must not stop the others
            traceback.print_exc(file=log)
            rows = [
                {"environment": environment, "workload": w, "artifact_digest": artifacts.digests[w], "output_sha256": None,
                 "wall_s": None, "peak_rss_bytes": None, "error": f"{type(error).__name__}: {error}"}
                for w in WORKLOAD_NAMES
            ]  # fmt: skip
        for row in rows:
            row["scale"] = asdict(scale)
            status = (
                row.get("error")
                or f"output {str(row['output_sha256'])[:12]}… {row['wall_s']:.2f} s"
            )
            print(f"[{environment}] {row['workload']}: {status}", file=log, flush=True)
        print(
            f"[{environment}] torn down ({time.perf_counter() - started:.1f} s)",
            file=log,
            flush=True,
        )
        records.extend(rows)
    print("replaying receipts on a node of none of the environments", file=log, flush=True)
    try:
        replay_across(records, work, artifacts, inputs)
    except Exception as error:  # the replay node failing must not lose the records
        traceback.print_exc(file=log)
        for row in records:
            if row.get("receipt"):
                row["replay"] = {"error": f"replay node: {type(error).__name__}: {error}"}
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=list(ENVIRONMENTS), help="run only these environments"
    )
    parser.add_argument("--events", type=int, default=Scale.events)
    parser.add_argument("--batches", type=int, default=Scale.batches)
    parser.add_argument("--batch-size", type=int, default=Scale.batch_size)
    parser.add_argument("--anomaly-count", type=int, default=Scale.anomaly_count)
    parser.add_argument("--anomaly-window", type=int, default=Scale.anomaly_window)
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "data" / "portability.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "portability.md")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (logs, homes)"
    )
    options = parser.parse_args(argv)
    scale = Scale(
        events=options.events, batches=options.batches, batch_size=options.batch_size,
        anomaly_count=options.anomaly_count, anomaly_window=options.anomaly_window,
    )  # fmt: skip
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="vyr-environments-"))
    try:
        records = run_matrix(options.only or list(ENVIRONMENTS), scale, work)
    except Interrupted as signal_name:
        print(f"interrupted by {signal_name}; everything was torn down", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    options.markdown.write_text(render(records))
    identical, problems = verdict(records)
    print(f"wrote {options.json} and {options.markdown} ({platform.node()})", file=sys.stderr)
    print(
        "outputs byte-identical across environments: "
        + ("yes" if identical else "NO: " + "; ".join(problems))
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
