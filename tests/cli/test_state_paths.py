"""`--state NAME:MODE@GUEST_PATH` and `vyr state bind --at`: where the guest sees a state, on
the CLI (issue 10 item 1), embedded and against the daemon."""

from __future__ import annotations

from cli_harness import Shell, keyed, signed_guest


def _state_file(shell: Shell) -> str:
    keyed(shell)
    return signed_guest(shell, "state-file")


def test_run_binds_a_state_at_the_path_given(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    module = _state_file(shell)
    daemons.append(shell.start_daemon())
    assert shell.vyr("state", "create", "box").returncode == 0
    put = ["run", module, "--state", "box:rw@/state/other", "--", "put", "other", "k"]
    written = shell.vyr(*put, stdin=b"v1")
    assert written.returncode == 0, written.stderr
    read = shell.vyr("run", module, "--state", "box:ro", "--", "get", "box", "k")
    assert (read.returncode, read.stdout) == (0, "v1")


def test_bad_guest_paths_are_usage_errors(shell: Shell) -> None:
    module = _state_file(shell)
    for spec, problem in [("box:rw@data", "absolute"), ("box:rw@", "expected NAME:ro")]:
        done = shell.vyr("run", module, "--state", spec, "--", "get", "box", "k")
        assert done.returncode == 2, (spec, done.stderr)
        assert problem in done.stderr and "Traceback" not in done.stderr, done.stderr
    overlapping = shell.vyr(
        "run", module, "--state", "a:ro@/data", "--state", "b:ro@/data/in", "--", "get", "a", "k"
    )
    assert overlapping.returncode == 2 and "overlaps" in overlapping.stderr, overlapping.stderr


def test_state_bind_at_a_guest_path(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    module = _state_file(shell)
    spinner = signed_guest(shell, "anomaly")
    daemons.append(shell.start_daemon())
    for name in ("gate", "box"):
        assert shell.vyr("state", "create", name).returncode == 0
    put = ["run", module, "--state", "box:rw", "--", "put", "box", "k"]
    assert shell.vyr(*put, stdin=b"bound later").returncode == 0
    # A running writer on `gate` holds the reader (bound to `gate`) queued while we bind to it.
    forever = ["--", "--count", "2000000000", "--window", "4096"]
    blocker = shell.vyr("task", "submit", spinner, "--state", "gate:rw", "--state", "box:ro",
                        *forever, stdin=b"").stdout.strip()  # fmt: skip
    reader = shell.vyr(
        "task", "submit", module, "--state", "gate:ro", "--", "get", "other", "k", stdin=b""
    ).stdout.strip()
    bad = shell.vyr("state", "bind", reader, "box", "--mode", "ro", "--at", "relative")
    assert bad.returncode == 2 and "absolute" in bad.stderr, bad.stderr
    bound = shell.vyr("state", "bind", reader, "box", "--mode", "ro", "--at", "/state/other")
    assert bound.returncode == 0, bound.stderr
    assert "at /state/other" in bound.stderr
    assert shell.vyr("task", "cancel", blocker).returncode == 0
    waited = shell.vyr("task", "wait", reader)
    assert (waited.returncode, waited.stdout) == (0, "bound later"), waited.stderr
