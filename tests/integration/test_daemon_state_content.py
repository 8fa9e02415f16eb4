"""States filled from files through the daemon (`vyr.Client`): uploaded as a blob, unpacked by
the node, exported back; each task's binding digests (before and after) survive a restart, and
the rw state's digest is the receipt's `state:NAME` subject (issues 10 and 12)."""

from __future__ import annotations

from pathlib import Path

from vyr.receipts import verify
from vyr.receipts.tree_digest import tree_digest
from vyr.types import StateBinding

from harness.daemon import Daemon, start_daemon
from harness.guests import sign_guests


def test_filled_state_digests_survive_a_restart(tmp_path: Path, daemons: list[Daemon]) -> None:
    from vyr.client import Client

    signed = sign_guests(tmp_path / "guests", ("state-file",))
    source = tmp_path / "content"
    (source / "sub").mkdir(parents=True)
    (source / "k").write_text("old")
    (source / "sub" / "deep.txt").write_text("kept")
    home = tmp_path / "home"
    daemons.append(start_daemon(home))
    with Client(daemons[-1].endpoint) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("state-file")).digest
        state = client.create_state("box", source=source)
        assert state.digest == tree_digest(source)
        result = client.run(digest, b"new", [StateBinding("box", "rw")], args=["put", "box", "k"])
        assert result.status == "succeeded", result.reason
        (bound,) = result.bindings
        assert bound.before == state.digest and bound.after not in (None, state.digest)
        exported = client.export_state("box", tmp_path / "out")
        assert (tmp_path / "out" / "k").read_text() == "new"
        assert (tmp_path / "out" / "sub" / "deep.txt").read_text() == "kept"
        assert exported.digest == bound.after == tree_digest(tmp_path / "out")
        statement = verify(client.task_receipt(result.id), [client.node_key().public_key])
        subjects = {s["name"]: s["digest"] for s in statement.statement["subject"]}
        assert subjects["state:box"] == {"vyrTreeV1": bound.after}
    daemons[-1].stop()
    daemons.append(start_daemon(home))
    with Client(daemons[-1].endpoint) as client:
        (again,) = client.wait_task(result.id).bindings
        assert (again.before, again.after) == (bound.before, bound.after)
