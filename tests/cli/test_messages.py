"""Messages a first contact met that were unclear: each is one `error:` line, one useful
`hint:` and the right exit code, never a traceback (issue 11; bad values: issue 13 item 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_harness import REPO, Shell, keyed, vyr_command


def _lines(stderr: str) -> tuple[str, str]:
    """(error line, hint line): exactly one of each."""
    error, hint = stderr.splitlines()
    assert error.startswith("error: ") and hint.startswith("hint: "), stderr
    return error, hint


def test_untrusted_signer_names_the_trusted_keys_and_hints_once(shell: Shell) -> None:
    keyed(shell)
    trusted = json.loads(shell.vyr("trust", "ls", "--json").stdout)[0]["key_id"]
    stranger = shell.cwd / "stranger.key"
    signer = shell.vyr("keygen", str(stranger)).stdout.strip()
    module = shell.cwd / "anomaly.wasm"  # another module: not stored under the trusted key
    shutil.copy(REPO / "workloads" / "build" / "anomaly.wasm", module)
    assert shell.vyr("sign", str(module), "--key", str(stranger)).returncode == 0
    done = shell.vyr("run", str(module))
    assert done.returncode == 125
    error, hint = _lines(done.stderr)
    assert error == f"error: untrusted signer {signer}; this node trusts {trusted}"
    assert "vyr trust add KEY.pub" in hint and signer in hint
    assert done.stderr.count("vyr trust add") == 1


def test_untrusted_signer_on_a_node_that_trusts_nothing(shell: Shell) -> None:
    module = keyed(shell)
    key_id = json.loads(shell.vyr("trust", "ls", "--json").stdout)[0]["key_id"]
    assert shell.vyr("trust", "rm", key_id).returncode == 0
    error, _ = _lines(shell.vyr("run", str(module)).stderr)
    assert error.endswith("; this node trusts no key yet")


@pytest.mark.parametrize(
    "content, says, hint",
    [
        ("module", "it is a WebAssembly module", "vyr artifact put MODULE"),
        ("text", "it is not a tar archive", "vyr artifact export"),
        ("empty", "it is an empty file", "vyr artifact export"),
    ],
)
def test_importing_something_that_is_not_a_bundle(
    shell: Shell, content: str, says: str, hint: str
) -> None:
    target = shell.cwd / "thing"
    module = shell.cwd / "workloads" / "build" / "hello.wasm"
    data = {"module": module.read_bytes(), "text": b"hello\n" * 200, "empty": b""}[content]
    target.write_bytes(data)
    done = shell.vyr("artifact", "import", str(target))
    assert done.returncode == 1
    error, hint_line = _lines(done.stderr)
    assert error == f"error: {target} is not a VYR bundle: {says}"
    assert hint in hint_line and "export it again" not in hint_line


def test_trust_rm_of_an_unknown_key(shell: Shell) -> None:
    keyed(shell)
    trusted = json.loads(shell.vyr("trust", "ls", "--json").stdout)[0]["key_id"]
    unknown = "sha256:" + "0" * 64
    done = shell.vyr("trust", "rm", unknown)
    assert done.returncode == 1
    error, hint = _lines(done.stderr)
    assert error == f"error: key {unknown} is not trusted on this node; it trusts {trusted}"
    assert "invalid argument" not in done.stderr and "vyr trust ls" in hint


def test_resigning_a_stored_module_with_other_args(shell: Shell) -> None:
    module = keyed(shell)
    digest = shell.vyr("artifact", "put", str(module)).stdout.strip()
    resigned = shell.vyr(
        "sign", str(module), "--key", str(shell.home / ".vyr/dev.key"), "--arg", "x"
    )
    assert resigned.returncode == 0 and "keeps its first manifest" in resigned.stderr
    done = shell.vyr("run", str(module))
    assert done.returncode == 125
    error, hint = _lines(done.stderr)
    assert "remove nothing" not in done.stderr
    assert digest in error and "keeps the manifest it was first put with" in error
    assert f"vyr run {digest}" in hint
    assert shell.vyr("run", digest, stdin=b"stored").stdout == "STORED"  # the hint works


@pytest.mark.parametrize(
    "args",
    [
        ("run", "{hex}"),
        ("run", "{upper}"),
        ("run", "sha256:{hex_upper}"),
        ("trust", "rm", "{hex}"),
        ("artifact", "export", "{upper}", "--out", "b.vyrbundle"),
        ("traces", "--artifact", "{hex}"),
    ],
    ids=["run-bare", "run-upper", "run-upper-hex", "trust-rm", "export", "traces"],
)
def test_a_digest_almost_right_gets_a_did_you_mean(shell: Shell, args: tuple[str, ...]) -> None:
    hex_digits = "3f1c" * 16
    values = {"hex": hex_digits, "upper": "SHA256:" + hex_digits.upper()}
    values["hex_upper"] = hex_digits.upper()
    done = shell.vyr(*(arg.format(**values) for arg in args))
    assert done.returncode == 2, done.stderr
    _, hint = _lines(done.stderr)
    assert hint == f"hint: did you mean sha256:{hex_digits}?"


def test_a_malformed_state_binding_is_a_usage_error(shell: Shell) -> None:
    module = keyed(shell)
    done = shell.vyr("run", str(module), "--state", "nomode")
    assert done.returncode == 2
    assert done.stderr.startswith("error: state binding 'nomode': expected NAME:ro or NAME:rw")


@pytest.mark.parametrize(
    "option, value",
    [
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e300"),
        ("--timeout", "-1"),
        ("--memory", "99999999999999999999999"),
        ("--memory", "-5M"),
        ("--fuel", "99999999999999999999999"),
        ("--fuel", "0"),
    ],
)
@pytest.mark.parametrize("command", [("run",), ("task", "submit")], ids=["run", "submit"])
def test_bad_resource_values_are_usage_errors_naming_the_range(
    shell: Shell, command: tuple[str, ...], option: str, value: str
) -> None:
    module = keyed(shell) if command == ("run",) else Path("hello.wasm")
    done = shell.vyr(*command, str(module), option, value)
    assert done.returncode == 2, done.stderr
    error, _ = _lines(done.stderr)
    assert error.startswith(f"error: invalid value for '{option}': {value!r}")
    assert "valid: " in error and "Traceback" not in done.stderr


def test_a_timeout_over_the_node_ceiling_is_a_usage_error(shell: Shell) -> None:
    module = keyed(shell)
    done = shell.vyr("run", str(module), "--timeout", "1000000")
    assert done.returncode == 2
    assert "timeout 1000000000 ms is outside 1..=86400000 ms" in done.stderr


def test_task_wait_timeout_is_checked_too(shell: Shell) -> None:
    done = shell.vyr("task", "wait", "t-1", "--timeout", "nan")
    assert done.returncode == 2 and "'--timeout'" in done.stderr


def test_every_help_example_of_traces_and_metrics_ends(shell: Shell, daemons: list) -> None:  # type: ignore[type-arg]
    module = keyed(shell)
    daemon = shell.start_daemon()
    daemons.append(daemon)
    for _ in range(5):  # enough history for any --limit the examples use
        assert shell.vyr("run", str(module), stdin=b"x").returncode == 0
    for command in ("traces", "metrics"):
        help_text = shell.vyr(command, "--help").stdout
        examples = help_text.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert len(examples) == 2 and all(line.strip().startswith("vyr ") for line in examples)
        for example in examples:
            # `timeout` exits 124 if the example does not end by itself.
            done = shell.sh(example.strip().replace("vyr ", f"timeout 30 {vyr_command()} ", 1))
            assert done.returncode == 0, (example, done.returncode, done.stderr)
