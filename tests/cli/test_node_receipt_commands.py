"""Receipts from the command line, embedded and through a daemon (also after its restart):
`vyr run --receipt`, `vyr node key`, `vyr task receipt`, `vyr receipt verify --node-key` and
`vyr receipt replay`."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import Shell, keyed


def test_embedded_run_receipt_verifies_and_replays(shell: Shell) -> None:
    module = keyed(shell)
    done = shell.vyr("run", str(module), "--deterministic", "--receipt", "r.json", stdin=b"hey")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HEY"
    key = shell.vyr("node", "key", "--out", "node.pub")
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("sha256:")
    printed = shell.vyr("node", "key")
    assert printed.stdout == (shell.cwd / "node.pub").read_text()
    assert printed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    verified = shell.vyr("receipt", "verify", "r.json", "--node-key", "node.pub")
    assert verified.returncode == 0, verified.stderr
    assert "verified: receipt of task" in verified.stdout and "succeeded" in verified.stdout
    replayed = shell.vyr("receipt", "replay", "r.json", "--node-key", "node.pub")
    assert replayed.returncode == 0, replayed.stderr
    assert "stdout        matches" in replayed.stdout
    # A flipped subject digest: the signature no longer holds.
    receipt = json.loads((shell.cwd / "r.json").read_text())
    receipt["signatures"][0]["sig"] = "A" + receipt["signatures"][0]["sig"][1:]
    (shell.cwd / "bad.json").write_text(json.dumps(receipt))
    refused = shell.vyr("receipt", "verify", "bad.json", "--node-key", "node.pub")
    assert refused.returncode == 1 and refused.stderr.startswith("error:")


def test_a_non_deterministic_replay_says_a_mismatch_may_be_legitimate(shell: Shell) -> None:
    module = keyed(shell)
    assert shell.vyr("run", str(module), "--receipt", "r.json", stdin=b"a").returncode == 0
    replayed = shell.vyr("receipt", "replay", "r.json")
    assert replayed.returncode == 0, replayed.stderr
    assert "may be legitimate" in replayed.stderr and "unverified" in replayed.stderr


def test_daemon_receipts_survive_a_restart(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    module = keyed(shell)
    daemons.append(shell.start_daemon())
    done = shell.vyr("run", str(module), "--deterministic", "--receipt", "r.json", stdin=b"yo")
    assert done.returncode == 0, done.stderr
    failed = shell.vyr("task", "submit", str(module), "--", "7", stdin=b"")
    task_id = failed.stdout.strip()
    assert shell.vyr("task", "wait", task_id).returncode == 7
    before = shell.vyr("task", "receipt", task_id, "--out", "failed.json")
    assert before.returncode == 0, before.stderr
    assert shell.vyr("node", "key", "--out", "node.pub").returncode == 0
    for name in ("r.json", "failed.json"):
        verified = shell.vyr("receipt", "verify", name, "--node-key", "node.pub")
        assert verified.returncode == 0, verified.stderr
    assert "failed, exit 7" in shell.vyr("receipt", "verify", "failed.json", "--node-key",
                                         "node.pub").stdout  # fmt: skip
    daemons[0].stop()
    daemons.append(shell.start_daemon())
    after = shell.vyr("task", "receipt", task_id, "--out", "again.json")
    assert after.returncode == 0, after.stderr
    assert (shell.cwd / "again.json").read_bytes() == (shell.cwd / "failed.json").read_bytes()
    replayed = shell.vyr("receipt", "replay", "r.json", "--node-key", "node.pub")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert Path(shell.node_home / "node.key").stat().st_mode & 0o777 == 0o600
