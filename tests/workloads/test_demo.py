"""`make demo`'s program (`python -m workloads.demo`), run as the Makefile runs it: each section
says what it claims (not the timing values, which are the machine's)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workloads import demo

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    """The demo's output split by its `== heading ==` lines."""
    if not (REPO / "workloads" / "build" / "hello.native").exists():
        subprocess.run([sys.executable, str(REPO / "workloads" / "build.py")], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VYR_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "workloads.demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    parts = re.split(r"^== (.+) ==$", done.stdout, flags=re.M)
    found = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert list(found) == list(demo.SECTIONS)
    return found


def test_the_workloads_run_and_match_their_references(sections: dict[str, str]) -> None:
    text = sections[demo.SECTIONS[0]]
    assert "matches the Python reference: yes" in text
    assert "lost 0, duplicated 0" in text
    for run in ("event-transform", "forward", "anomaly (CPU-bound)"):
        assert re.search(rf"^{re.escape(run)} +succeeded ", text, re.M), run


def test_no_path_into_the_removed_home_is_printed(sections: dict[str, str]) -> None:
    everything = "".join(sections.values())
    assert "vyr-demo-" not in everything  # the temporary directory's prefix
    assert "removed at the end" in sections[demo.SECTIONS[0]]


def test_start_latency_rows_are_measured_or_say_why_not(sections: dict[str, str]) -> None:
    rows = sections[demo.SECTIONS[1]].strip().splitlines()
    measured = re.compile(r"^(?P<what>.+?) +(?P<median>[\d.]+) ms +(?P<min>[\d.]+) ms +\d+$")
    by_label = {}
    for row in (row for row in rows[1:] if not row.startswith("A ")):
        match = measured.match(row)
        if match is None:
            label, reason = row.split("  not measured: ")
            assert reason.strip(), row
            by_label[label.strip()] = None
        else:
            by_label[match["what"]] = float(match["median"])
    assert set(by_label) == {
        "VYR warm task: submit -> guest _start",
        "VYR warm task: whole run of hello (submit -> result)",
        "process: /bin/true via subprocess.run",
        "process: hello.native via subprocess.run",
        "container: runc run (static hello, no image)",
    }
    # The task and the processes are always measurable here; the container only with runc as root.
    assert all(value is not None for label, value in by_label.items() if "container" not in label)
    container = by_label["container: runc run (static hello, no image)"]
    reason = next((row for row in rows if row.startswith("container:")), "")
    if shutil.which("runc") is None or os.geteuid() != 0:
        assert container is None
    elif container is None:  # runc as root, but the environment refused it: the row says why
        assert "not measured: runc failed: " in reason
    claims = [row for row in rows if row.startswith("A ")]
    assert claims[0].startswith("A warm task reaches its guest's _start ")
    assert (container is not None) == (len(claims) == 2)


def test_a_tampered_artifact_is_refused(sections: dict[str, str]) -> None:
    text = sections[demo.SECTIONS[2]]
    assert "flipped bit 0 of byte" in text
    assert re.search(
        r"^refused: DigestMismatch: digest mismatch: the module is sha256:", text, re.M
    )
    assert "nothing was stored or compiled" in text


def test_the_commands_to_try_next_are_the_readmes(sections: dict[str, str]) -> None:
    text = sections[demo.SECTIONS[3]]
    readme = (REPO / "README.md").read_text().split("\n## Use it\n", 1)[1]
    readme_lines = {line.split("  #")[0].strip() for line in readme.splitlines()}
    for line in (*demo.NEXT_COMMANDS, *demo.DAEMON_COMMANDS):
        assert f"  {line}\n" in text
        # The README's lines are run verbatim by tests/packaging/test_readme_commands.py.
        assert line in readme_lines, line
