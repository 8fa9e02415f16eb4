"""Cross-environment replay: each environment's receipts run again on a node that is none of
theirs, and the replayed digests compared with the receipt's subjects.

The replay node is a fresh embedded `vyr.Runtime` with its own home and node key, trusting the
same artifact signer and fed the same bundle (its signatures checked again on import). Each
receipt is verified with its own node's public key first (what `run_workloads` recorded), then
replayed with `vyr.receipts.replay_run.replay_receipt`:

- anomaly: stateless and deterministic by its seed (and run with `deterministic=True`): the
  receipt's args and an empty input are all it needs;
- event-transform: reads its device table from a read-only state; the table's content before
  the run is recreated here (the `devices.tsv` file `state-file put` wrote) and checked against
  the receipt's `before` tree digest by the replay itself;
- collector: not replayed. Its final `forward` reads a read-write state built up by the eight
  `collect` runs before it; that content is the daemon's, not recreated here (a node store of
  state versions by tree digest, docs/receipts.md "Not yet", would make it replayable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from environments.common import Artifacts, Inputs

REPLAYED = ("event-transform", "anomaly")
NOT_REPLAYED = {
    "collector": "its final `forward` reads a read-write state built by the `collect` runs "
    "before it, which is not recreated outside the node that ran them",
}


def replay_across(
    records: list[dict[str, Any]], work: Path, artifacts: Artifacts, inputs: Inputs
) -> None:
    """Adds a `replay` entry to each record that has a receipt (in `work/ENV/receipts`)."""
    import vyr
    from vyr.bundle import import_bundle
    from vyr.errors import VyrError
    from vyr.receipts import replay_plan, verify
    from vyr.receipts.replay_run import replay_receipt

    with_receipts = [r for r in records if r.get("receipt")]
    if not with_receipts:
        return
    with vyr.Runtime(work / "replay-node") as node:
        node.trust_add(artifacts.public_key.read_text())
        import_bundle(node, artifacts.bundle)
        replay_key = node.node_key().key_id
        for row in with_receipts:
            if row["workload"] not in REPLAYED:
                row["replay"] = {"skipped": NOT_REPLAYED.get(row["workload"], "not replayed")}
                continue
            receipt = row["receipt"]
            path = work / row["environment"] / "receipts" / receipt["file"]
            public_key = (work / row["environment"] / "receipts" / "node.pub").read_text()
            try:
                statement = verify(path.read_bytes(), [public_key]).statement
                states = _state_contents(
                    replay_plan(statement), inputs, work / "replay-states" / row["environment"]
                )
                outcome = replay_receipt(
                    node,
                    statement,
                    input_bytes=inputs.events if row["workload"] == "event-transform" else b"",
                    states=states,
                )
            except (VyrError, OSError) as error:  # recorded: the report says which failed
                row["replay"] = {"on": replay_key, "error": f"{type(error).__name__}: {error}"}
                continue
            row["replay"] = {
                "on": replay_key,
                "matches": outcome.matches,
                "deterministic": outcome.deterministic,
                "subjects": {
                    name: {"receipt": want, "replay": got}
                    for name, (want, got) in outcome.compared.items()
                },
            }


def _state_contents(plan: Any, inputs: Inputs, directory: Path) -> dict[str, Path]:
    """The content of each state the receipt's task had bound: event-transform's device table
    (the only state a replayed workload reads), as `state-file put` left it."""
    contents = {}
    for binding in plan.bindings:
        content = directory / binding.state
        content.mkdir(parents=True, exist_ok=True)
        (content / "devices.tsv").write_bytes(inputs.device_table)
        contents[binding.state] = content
    return contents
