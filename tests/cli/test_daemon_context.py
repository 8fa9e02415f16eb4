"""One CLI context: while `vyr daemon` serves the home's socket, every command talks to it
without --endpoint; a socket left by a killed daemon does not count."""

from __future__ import annotations

import json

from cli_harness import Shell, keyed


def test_every_command_uses_the_daemon_serving_the_home(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    module = keyed(shell)  # embedded: nothing serves the home yet
    daemon = shell.start_daemon()
    daemons.append(daemon)

    # A state made now outlives the command that made it: it lives on the daemon.
    created = shell.vyr("state", "create", "lookup")
    assert created.returncode == 0, created.stderr
    states = json.loads(shell.vyr("state", "ls", "--json").stdout)
    assert [(s["id"], s["name"]) for s in states] == [(created.stdout.strip(), "lookup")]

    key_id = shell.vyr("trust", "add", str(shell.home / ".vyr" / "dev.key.pub")).stdout.strip()
    assert [k["key_id"] for k in json.loads(shell.vyr("trust", "ls", "--json").stdout)] == [key_id]

    ran = shell.vyr("run", str(module), stdin=b"daemon")
    assert (ran.returncode, ran.stdout) == (0, "DAEMON")
    task_id = shell.vyr("task", "submit", str(module), stdin=b"queued").stdout.strip()
    assert shell.vyr("task", "wait", task_id).stdout == "QUEUED"  # piped stdin reached it
    assert [t["id"] for t in json.loads(shell.vyr("task", "ls", "--json").stdout)][-1] == task_id

    # Both runs are in the daemon's trace history: they ran there, not embedded.
    spans = [
        json.loads(line)
        for line in shell.vyr("traces", "--no-follow", "--json").stdout.splitlines()
    ]
    executed = {s["task_id"] for s in spans if s["name"] == "vyr.execute"}
    assert len(executed) == 2 and task_id in executed
    assert shell.vyr("metrics", "--json").stdout.strip()

    digests = [a["digest"] for a in json.loads(shell.vyr("artifact", "ls", "--json").stdout)]
    assert len(digests) == 1
    # `artifact export` reads the home's store, which this daemon shares.
    exported = shell.vyr("artifact", "export", digests[0], "--out", str(shell.cwd / "b.vyrbundle"))
    assert exported.returncode == 0, exported.stderr

    # On a daemon a state must exist: naming an unknown one is a usage error, like a bad value.
    unknown = shell.vyr("run", str(module), "--state", "nosuch:ro")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == [
        "error: unknown state nosuch",
        "hint: create it with 'vyr state create NAME'",
    ]
    assert daemon.terminate() == 0


def test_a_socket_left_by_a_killed_daemon_does_not_count(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    daemon = shell.start_daemon()
    daemons.append(daemon)
    assert shell.vyr("state", "create", "kept").returncode == 0
    daemon.kill()  # SIGKILL: the socket file stays behind
    assert (shell.node_home / "vyr.sock").exists()
    done = shell.vyr("state", "create", "kept")
    assert done.returncode == 1
    assert done.stderr.startswith("error: no daemon is serving")
    assert shell.vyr("trust", "ls").returncode == 0  # embedded commands still work
