"""The README's first "Use it" block in a fresh HOME, checked line by line (every block runs
verbatim in test_readme_commands.py), and what else a new user meets
in the first minute: keygen into a missing directory, piped input, --version, completion, and
commands that cannot work without a daemon saying so."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import stat

import pytest
from cli_harness import REPO, Shell, keyed

FIRST_LINE = "source .venv/bin/activate"


def readme_shell_blocks() -> list[str]:
    """The ```sh blocks of the README's "Use it" section, in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Use it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def _key_id_of(public_pem: str) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    raw = load_pem_public_key(public_pem.encode()).public_bytes_raw()  # type: ignore[union-attr]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_readme_use_it_runs_verbatim(shell: Shell) -> None:
    block = readme_shell_blocks()[0]
    assert block.startswith(FIRST_LINE)
    done = shell.sh(block)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "HELLO"
    keys = shell.home / ".vyr"
    private, public = keys / "dev.key", keys / "dev.key.pub"
    # keygen and trust add both print the key id: sha256 of the raw public key.
    assert lines[0] == lines[1] == _key_id_of(public.read_text())
    assert (_mode(keys), _mode(private)) == (0o700, 0o600)
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----\n")
    assert (shell.cwd / "workloads" / "build" / "hello.wasm.sig").is_file()
    assert "Traceback" not in done.stderr


def test_keygen_makes_missing_directories_and_prints_the_key_id(shell: Shell) -> None:
    target = shell.home / "a" / "b" / "signing.key"
    done = shell.vyr("keygen", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == _key_id_of(target.with_name("signing.key.pub").read_text()) + "\n"
    assert _mode(shell.home / "a") == _mode(shell.home / "a" / "b") == 0o700
    assert _mode(target) == 0o600
    before = target.read_text()
    again = shell.vyr("keygen", str(target))
    assert again.returncode == 1 and "--force" in again.stderr
    assert target.read_text() == before


def test_piped_stdin_reaches_the_task(shell: Shell) -> None:
    module = keyed(shell)
    assert shell.vyr("run", str(module), stdin=b"piped").stdout == "PIPED"
    assert shell.vyr("run", str(module), stdin=None).stdout == ""  # /dev/null: no input
    given = shell.cwd / "given.txt"
    given.write_text("file")
    assert shell.vyr("run", str(module), "--input", str(given), stdin=b"x").stdout == "FILE"


def test_version_and_completion(shell: Shell) -> None:
    version = importlib.metadata.version("vyr")
    for flag in ("-V", "--version"):
        assert shell.vyr(flag).stdout.strip() == f"vyr, version {version}"
    assert "_VYR_COMPLETE=bash_source vyr" in shell.vyr("--help").stdout
    assert "_VYR_COMPLETE=bash_source vyr" in (REPO / "docs" / "cli.md").read_text()
    shell.env["_VYR_COMPLETE"] = "bash_source"
    script = shell.vyr().stdout
    assert "complete -o nosort -F _vyr_completion vyr" in script


@pytest.mark.parametrize(
    "args",
    [
        ("state", "create", "lookup"),
        ("state", "ls"),
        ("traces",),
        ("metrics", "--json"),
        ("task", "submit", "sha256:" + "a" * 64),
        ("task", "ls"),
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_without_a_daemon_results_that_cannot_outlive_the_command_are_refused(
    shell: Shell, args: tuple[str, ...]
) -> None:
    done = shell.vyr(*args)
    assert done.returncode == 1
    assert done.stdout == ""  # no id of something already gone, no empty listing
    assert done.stderr.startswith(f"error: no daemon is serving {shell.node_home / 'vyr.sock'}: ")
    assert done.stderr.count("hint:") == 1 and "vyr daemon" in done.stderr
