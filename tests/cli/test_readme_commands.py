"""Every command of the README's "Use it" section, run verbatim and in order in a fresh HOME
against the installed CLI, as a new user on a clean clone would run them (issue 11, "Done
when"). The ```sh blocks run with `bash -e`; the ```python block with the venv's interpreter;
`vyr daemon`, which the README runs "in a second terminal, until Ctrl-C", is started as written
as a subprocess and stopped after the lines that use it. A line that needs the network is
skipped with its reason printed; no line needs it today."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest
from cli_harness import REPO, Daemon, Shell

# Guests the README's lines use, copied into the scratch clone (signing writes next to them).
GUESTS = ("hello", "textstats")
DAEMON_LINE = "vyr daemon"
# What would reach beyond this machine: a URL, a package or clone download.
NETWORK = re.compile(r"https?://(?!HOST)|\bpip install\b|\bcurl\b|\bwget\b|\bgit clone\b")

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class Block:
    """One fenced block of the section: its language (`sh` / `python`) and its text."""

    language: str
    text: str


def use_it_blocks() -> list[Block]:
    """The fenced blocks of the README's "Use it" section, in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Use it\n", 1)[1].split("\n## ", 1)[0]
    return [Block(lang, body) for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S)]


def command_lines(block: Block) -> list[str]:
    """A shell block's lines without blank lines (comments stay: bash ignores them)."""
    return [line for line in block.text.splitlines() if line.strip()]


def needs_network(line: str) -> str | None:
    """Why a line cannot run offline, or None."""
    match = NETWORK.search(line)
    return f"needs the network ({match.group(0).strip()})" if match else None


def test_the_section_is_what_this_test_expects() -> None:
    blocks = use_it_blocks()
    assert [block.language for block in blocks] == ["sh", "sh", "python", "sh"]
    assert command_lines(blocks[0])[0] == "source .venv/bin/activate"
    daemon_blocks = [b for b in blocks if any(_is_daemon(line) for line in command_lines(b))]
    assert len(daemon_blocks) == 1
    assert needs_network("pip install x") and needs_network("curl https://example.org")
    assert needs_network("vyr run --endpoint https://HOST:PORT") is None


@pytest.mark.parametrize("vyr_home", [False, True], ids=["default-home", "VYR_HOME"])
def test_every_use_it_command_succeeds_verbatim(
    shell: Shell, daemons: list[Daemon], vyr_home: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if vyr_home:
        shell.env["VYR_HOME"] = str(shell.home / "node")
    for guest in GUESTS:
        built = REPO / "workloads" / "build" / f"{guest}.wasm"
        shutil.copy(built, shell.cwd / "workloads" / "build" / built.name)
    outputs = []
    for block in use_it_blocks():
        if block.language == "python":
            done = _python(shell, block.text)
            assert done.returncode == 0, f"{block.text}\n{done.stderr}"
            outputs.append(done.stdout)
            continue
        lines = command_lines(block)
        skipped = [(line, reason) for line in lines if (reason := needs_network(line))]
        for line, reason in skipped:
            with capsys.disabled():  # on the terminal, not only in a failure's report
                print(f"\nREADME line skipped: {line!r}: {reason}")
        lines = [line for line in lines if not needs_network(line)]
        daemon = None
        if lines and _is_daemon(lines[0]):
            daemon = shell.start_daemon()  # `vyr daemon` exactly, no flags
            daemons.append(daemon)
            assert daemon.endpoint == f"unix:{shell.node_home / 'vyr.sock'}"
            lines = lines[1:]
        done = shell.sh("\n".join(lines))
        assert done.returncode == 0, f"{block.text}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout)
        if daemon is not None:
            daemon.process.send_signal(signal.SIGINT)  # the README's "until Ctrl-C"
            assert daemon.process.wait(30) == 0, daemon.stderr
    first, files, python, with_daemon = outputs
    assert first.splitlines()[-1] == "HELLO"
    assert "a.txt\t2\t3\t14\n" in files  # `cat out/report.tsv`, written back from /out
    assert "succeeded b'HELLO'" in python
    assert with_daemon.startswith("HELLO\n") and "vyr.execute" in with_daemon


def _is_daemon(line: str) -> bool:
    return line.split("#")[0].strip() == DAEMON_LINE


def _python(shell: Shell, code: str) -> subprocess.CompletedProcess[str]:
    """The block as `python -` in the scratch clone: the venv's interpreter, as after
    `source .venv/bin/activate`."""
    return subprocess.run(
        [sys.executable, "-"],
        input=code,
        capture_output=True,
        text=True,
        env=shell.env,
        cwd=shell.cwd,
        timeout=120,
    )
