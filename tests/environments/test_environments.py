"""A quick environment matrix: each environment set up for real (TLS daemon, cgroup + taskset,
network namespaces, wasmtime-py), the three workloads on small inputs, outputs checked against
independent expectations (the Python reference, the native anomaly build, the generator's ground
truth), and nothing left behind. `make environments` runs the same code at full size."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from environments import common, disconnected, edge, report
from harness import REPO
from harness.guests import BUILD
from workloads import reference_transform

SCALE = common.Scale(
    events=3_000, devices=50, batches=4, batch_size=400, anomaly_count=30_000, anomaly_window=128
)


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, guests: Path
) -> tuple[Path, common.Artifacts, common.Inputs, dict[str, str]]:
    """One bundle and one set of inputs for every environment, and the expected output digests."""
    work = tmp_path_factory.mktemp("environments")
    artifacts = common.prepare_artifacts(work)
    inputs = common.Inputs.generate(SCALE)
    expected_out, _ = reference_transform.transform(inputs.events, inputs.device_table)
    native = subprocess.run(
        [str(BUILD / "anomaly.native"), *inputs.anomaly_args],
        capture_output=True,
        check=True,
        timeout=60,
    )
    expected = {
        "event-transform": hashlib.sha256(expected_out).hexdigest(),
        "anomaly": hashlib.sha256(native.stdout).hexdigest(),
    }
    return work, artifacts, inputs, expected


@pytest.fixture(scope="module")
def ran(shared):  # type: ignore[no-untyped-def]
    """ran(name) -> that environment's records: each environment is set up once per module."""
    cache: dict[str, list[dict[str, Any]]] = {}
    work, artifacts, inputs, _ = shared

    def run(name: str) -> list[dict[str, Any]]:
        reason = _skip_reason(name)
        if reason:
            pytest.skip(f"{name}: {reason}")
        if name not in cache:
            module = importlib.import_module("environments." + name.replace("-", "_"))
            cache[name] = module.run(work / name, artifacts, inputs)
            assert _leftovers(str(work / name)) == []
        return cache[name]

    return run


def _skip_reason(name: str) -> str | None:
    if name == "edge":
        return edge.unavailable_reason()
    if name == "disconnected":
        return disconnected.unavailable_reason()
    return None


def _leftovers(marker: str) -> list[str]:
    """Processes whose command line mentions `marker`, namespaces and cgroups of this pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(f"process {entry.name}")
            except OSError:
                continue
    if disconnected.unavailable_reason() is None:
        names = common.run_command("ip", "netns", "list").stdout
        found += [
            f"netns {line}"
            for line in names.splitlines()
            if line.startswith(disconnected.PREFIX) and str(os.getpid()) in line
        ]
    parent = edge.memory_parent()
    if parent is not None and parent[0].is_dir():
        found += [f"cgroup {p}" for p in parent[0].glob(f"{edge.PREFIX}{os.getpid()}")]
    return found


@pytest.mark.parametrize("name", ["cloud", "edge", "disconnected", "wasmtime-py"])
def test_environment_runs_the_same_artifacts_with_the_same_output(name: str, shared, ran) -> None:  # type: ignore[no-untyped-def]
    _, artifacts, _, expected = shared
    rows = ran(name)
    assert [r["workload"] for r in rows] == list(common.WORKLOAD_NAMES)
    for row in rows:
        assert row["environment"] == name
        assert row["artifact_digest"] == artifacts.digests[row["workload"]]
        assert row["wall_s"] > 0 and row["peak_rss_bytes"] > 0
        if row["workload"] in expected:
            assert row["output_sha256"] == expected[row["workload"]], row["workload"]
    # the collector batch was decoded and checked against the generator's truth inside run()


@pytest.mark.parametrize("name", ["cloud", "edge", "disconnected"])
def test_each_final_task_has_a_receipt_verified_with_its_node_key(name: str, shared, ran) -> None:  # type: ignore[no-untyped-def]
    """The receipt kept in the environment's directory verifies with that node's public key
    (checked again here, independently of the record) and vouches for the output."""
    from vyr.receipts import verify

    work = shared[0]
    rows = ran(name)
    receipts = work / name / "receipts"
    public_key = (receipts / "node.pub").read_text()
    assert len({r["receipt"]["key_id"] for r in rows}) == 1
    for row in rows:
        receipt = row["receipt"]
        assert receipt["verified"] and receipt["error"] is None, receipt
        assert receipt["subjects"]["stdout"] == "sha256:" + row["output_sha256"]
        assert receipt["key_id"].startswith("sha256:") and len(receipt["key_id"]) == 71
        assert receipt["deterministic"] == (row["workload"] != "collector")
        verified = verify((receipts / receipt["file"]).read_bytes(), [public_key])
        assert verified.signer == receipt["key_id"]
        assert verified.statement["predicate"]["taskId"] == receipt["task_id"]
    collector = next(r for r in rows if r["workload"] == "collector")
    assert any(k.startswith("state:") for k in collector["receipt"]["subjects"])
    assert ran("wasmtime-py")[0]["receipt"] is None  # no node, no receipt


def test_receipts_agree_across_nodes_and_replay_on_another(shared, ran) -> None:  # type: ignore[no-untyped-def]
    """Different node keys, the same subject digests; the deterministic receipts replay on a
    fresh node to the same digests, collector's is not replayed (its rw state history)."""
    import copy

    from environments.replay import replay_across

    work, artifacts, inputs, _ = shared
    names = [n for n in ("cloud", "edge", "disconnected") if _skip_reason(n) is None]
    rows = [copy.deepcopy(row) for name in names for row in ran(name)]
    assert len({r["receipt"]["key_id"] for r in rows}) == len(names)
    for workload in common.WORKLOAD_NAMES:
        subjects = {
            json.dumps(report._compared_subjects(r["receipt"]), sort_keys=True)
            for r in rows
            if r["workload"] == workload
        }
        assert len(subjects) == 1, (workload, subjects)
    replay_across(rows, work, artifacts, inputs)
    for row in rows:
        replay = row["replay"]
        if row["workload"] == "collector":
            assert "read-write state" in replay["skipped"]
            continue
        assert replay["matches"] and replay["deterministic"], replay
        assert replay["on"] not in {r["receipt"]["key_id"] for r in rows}
        assert set(replay["subjects"]) == {"stdout", "stderr"}
        assert replay["subjects"]["stdout"]["replay"] == row["output_sha256"]
    identical, problems = report.verdict(rows)
    assert identical, problems
    page = report.render(rows)
    assert "## Receipts: what each node signed" in page and "### Replayed on another node" in page


def test_environments_agree_byte_for_byte(ran) -> None:  # type: ignore[no-untyped-def]
    """Every environment that could run here gives the same digests (the collector batch too,
    which has no independent expectation above)."""
    names = [n for n in ("cloud", "edge", "disconnected", "wasmtime-py") if _skip_reason(n) is None]
    outputs = {name: {r["workload"]: r["output_sha256"] for r in ran(name)} for name in names}
    assert len({json.dumps(o, sort_keys=True) for o in outputs.values()}) == 1, outputs


def test_cloud_daemon_uses_tls_and_exports_to_the_receiver(ran) -> None:  # type: ignore[no-untyped-def]
    extra = ran("cloud")[0]["extra"]
    assert extra["transport"].startswith("TLS over TCP (https://127.0.0.1:")
    assert extra["otlp"]["spans"] > 0


@pytest.mark.skipif(
    disconnected.unavailable_reason() is not None,
    reason=f"disconnected: {disconnected.unavailable_reason()}",
)
def test_disconnected_site_is_offline_then_reconnected(shared, ran) -> None:  # type: ignore[no-untyped-def]
    _, artifacts, _, _ = shared
    extra = ran("disconnected")[0]["extra"]
    assert extra["interfaces_offline"] == ["lo DOWN"]
    assert "unreachable" in extra["offline_probe"].lower()
    assert extra["imported_in_namespace"] == len(artifacts.digests)
    assert any(i.startswith("vyrs") and i.endswith("UP") for i in extra["interfaces_online"])
    # spans were spooled while offline, then delivered over the new link, spool emptied
    assert extra["spooled_while_offline"]["spans"] > 0
    assert extra["otlp_after_reconnect"]["spans"] >= extra["spooled_while_offline"]["spans"]
    assert extra["spooled_after_reconnect"]["files"] == 0


@pytest.mark.skipif(
    disconnected.unavailable_reason() is not None,
    reason=f"disconnected: {disconnected.unavailable_reason()}",
)
def test_a_failing_environment_still_tears_down(shared, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A tampered bundle makes the import inside the namespace fail: the error says so, and the
    daemon, the namespace and everything else are gone afterwards."""
    work, artifacts, inputs, _ = shared
    tampered = tmp_path / "tampered.vyrbundle"
    import tarfile

    with tarfile.open(artifacts.bundle) as tar:
        module = next(m for m in tar.getmembers() if m.name.endswith("module.wasm"))
    raw = bytearray(artifacts.bundle.read_bytes())
    raw[module.offset_data + module.size // 2] ^= 1
    tampered.write_bytes(bytes(raw))
    broken = common.Artifacts(tampered, artifacts.public_key, artifacts.digests)
    with pytest.raises(RuntimeError, match="(?s)driver inside .*corrupt or was altered"):
        disconnected.run(work / "broken-site", broken, inputs)
    assert _leftovers(str(work / "broken-site")) == []


@pytest.mark.skipif(
    edge.unavailable_reason() is not None, reason=f"edge: {edge.unavailable_reason()}"
)
def test_edge_daemon_is_capped_and_pinned(ran) -> None:  # type: ignore[no-untyped-def]
    rows = ran("edge")
    extra = rows[0]["extra"]
    assert len(extra["cpus"]) == 1
    assert extra["memory_cap_bytes"] == 256 << 20
    assert extra["transport"].startswith("unix socket only")
    assert all(
        r["extra"]["cgroup_peak_bytes"] is None or r["extra"]["cgroup_peak_bytes"] <= 256 << 20
        for r in rows
    )


def test_runner_writes_records_and_report(tmp_path: Path, guests: Path) -> None:
    out_json, out_md = tmp_path / "portability.json", tmp_path / "portability.md"
    done = subprocess.run(
        [sys.executable, "-m", "environments.run", "--only", "wasmtime-py", "--events", "500", "--batches", "2",
         "--batch-size", "100", "--anomaly-count", "5000", "--json", str(out_json), "--markdown", str(out_md)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "byte-identical across environments: yes" in done.stdout
    records = json.loads(out_json.read_text())
    assert {
        "environment",
        "workload",
        "artifact_digest",
        "output_sha256",
        "wall_s",
        "peak_rss_bytes",
    } <= set(records[0])
    assert "| event-transform |" in out_md.read_text()


def test_report_states_a_difference() -> None:
    def row(environment: str, output: str, **more: Any) -> dict[str, Any]:
        return {"environment": environment, "workload": "anomaly", "artifact_digest": "sha256:" + "a" * 64,
                "output_sha256": output, "wall_s": 1.0, "peak_rss_bytes": 1 << 20, "output_bytes": 3, **more}  # fmt: skip

    same, _ = report.verdict([row("cloud", "1" * 64), row("edge", "1" * 64)])
    assert same
    differ, problems = report.verdict([row("cloud", "1" * 64), row("edge", "2" * 64)])
    assert not differ and problems == ["anomaly: 2 different outputs"]
    assert "NOT identical" in report.render([row("cloud", "1" * 64), row("edge", "2" * 64)])
    failed, problems = report.verdict([row("cloud", "1" * 64), row("edge", None, error="boom")])
    assert not failed and "did not run in edge" in problems[0]


def test_report_states_a_receipt_problem() -> None:
    def row(environment: str, **receipt: Any) -> dict[str, Any]:
        signed = {"file": "anomaly.receipt.json", "task_id": "t-1", "key_id": "sha256:" + environment[0] * 64,
                  "verified": True, "subjects": {"stdout": "sha256:" + "1" * 64, "stderr": "sha256:" + "e" * 64},
                  "deterministic": True, "error": None, **receipt}  # fmt: skip
        return {"environment": environment, "workload": "anomaly", "artifact_digest": "sha256:" + "a" * 64,
                "output_sha256": "1" * 64, "wall_s": 1.0, "peak_rss_bytes": 1, "output_bytes": 3, "receipt": signed}  # fmt: skip

    assert report.verdict([row("cloud"), row("edge")]) == (True, [])
    refused = report.verdict(
        [row("cloud"), row("edge", verified=False, error="InvalidSignature: x")]
    )
    assert refused == (False, ["anomaly: the edge receipt did not verify (InvalidSignature: x)"])
    other = row("edge", subjects={"stdout": "sha256:" + "1" * 64, "stderr": "sha256:" + "f" * 64})
    differ, problems = report.verdict([row("cloud"), other])
    assert problems == ["anomaly: the receipts' subject digests differ between environments"]
    wrong = row("edge", subjects={"stdout": "sha256:" + "2" * 64, "stderr": "sha256:" + "e" * 64})
    assert (
        "the edge receipt's stdout is not its output" in report.verdict([row("cloud"), wrong])[1][0]
    )
    unreplayed = {**row("edge"), "replay": {"on": "sha256:x", "matches": False, "subjects": {}}}
    assert "did not replay" in report.verdict([row("cloud"), unreplayed])[1][0]
    assert "| anomaly | edge | yes (deterministic)" not in report.render([unreplayed])
