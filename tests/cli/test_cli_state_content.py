"""States filled from files and read back, on the CLI (issue 10 items 2-4): `vyr state create
NAME --from DIR|FILE.tar`, `vyr state export NAME --out DIR|FILE.tar` against a daemon, and
`vyr run --dir HOST_DIR[::GUEST_PATH][:ro]` embedded and against a daemon, with the real
file-processing guest `textstats`."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from cli_harness import Shell, keyed, signed_guest


def _books(root: Path) -> Path:
    """A small tree of text files, a nested directory and a symlink inside it."""
    (root / "poems").mkdir(parents=True)
    (root / "a.txt").write_text("one two three\nfour\n")
    (root / "poems" / "b.txt").write_text("x y\n")
    (root / "link.txt").symlink_to("a.txt")
    return root


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry below root: file contents by sha256, link targets, directories."""
    seen = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            seen[key] = "-> " + str(path.readlink())
        elif path.is_dir():
            seen[key] = "dir"
        else:
            seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


@pytest.mark.parametrize("with_daemon", [False, True], ids=["embedded", "daemon"])
def test_run_dir_processes_host_files_and_writes_back(
    shell: Shell,
    daemons: list,  # type: ignore[type-arg]
    tmp_path: Path,
    with_daemon: bool,
) -> None:
    keyed(shell)
    module = signed_guest(shell, "textstats")
    if with_daemon:
        daemons.append(shell.start_daemon())
    books, out = _books(tmp_path / "books"), tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("kept: the task does not remove it\n")
    before = _snapshot(books)
    done = shell.vyr(
        "run", module, "--dir", f"{books}::/data:ro", "--dir", f"{out}::/out", "--", "/data", "/out"
    )
    assert done.returncode == 0, done.stderr
    # link.txt is a symlink, not a regular file: lstat-walking programs skip it.
    assert done.stdout == "files 2 lines 3 words 6 bytes 23\n"
    assert (out / "report.tsv").read_text() == (
        "path\tlines\twords\tbytes\na.txt\t2\t4\t19\npoems/b.txt\t1\t2\t4\n"
    )
    assert (out / "stale.txt").exists()
    assert _snapshot(books) == before  # read-only: never written back


def test_failed_run_leaves_the_host_dir_exactly_as_it_was(shell: Shell, tmp_path: Path) -> None:
    keyed(shell)
    module = signed_guest(shell, "textstats")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.tsv").write_text("the old report\n")
    before = _snapshot(out)
    # The input directory does not exist in the guest: textstats exits 74 after nothing.
    done = shell.vyr("run", module, "--dir", f"{out}::/out", "--", "/missing", "/out")
    assert done.returncode == 74, done.stderr
    assert _snapshot(out) == before


def test_dir_usage_errors(shell: Shell, tmp_path: Path) -> None:
    keyed(shell)
    module = signed_guest(shell, "textstats")
    (tmp_path / "plain").write_text("x")
    for spec, problem in [
        (str(tmp_path / "nowhere"), "not a directory"),
        (str(tmp_path / "plain"), "not a directory"),
        (f"{tmp_path}::data", "not absolute"),
    ]:
        done = shell.vyr("run", module, "--dir", spec, "--", "/a", "/b")
        assert done.returncode == 2, (spec, done.stderr)
        assert problem in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_state_create_from_dir_and_tar_then_export(
    shell: Shell,
    daemons: list,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    keyed(shell)
    module = signed_guest(shell, "textstats")
    daemons.append(shell.start_daemon())
    books = _books(tmp_path / "books")
    created = shell.vyr("state", "create", "books", "--from", str(books))
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("st-") and "4 entries" in created.stderr
    archive = tmp_path / "books.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(books, arcname=".")
    assert shell.vyr("state", "create", "books2", "--from", str(archive)).returncode == 0
    listed = shell.vyr("state", "ls", "--json")
    digests = {s["name"]: s["digest"] for s in json.loads(listed.stdout)}
    assert digests["books"] == digests["books2"] and len(digests["books"]) == 64
    assert shell.vyr("state", "create", "out").returncode == 0
    ran = shell.vyr(
        "run", module, "--state", "books:ro@/data", "--state", "out:rw@/out", "--", "/data", "/out"
    )
    assert ran.returncode == 0, ran.stderr
    exported = shell.vyr("state", "export", "out", "--out", str(tmp_path / "result"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "result" / "report.tsv").read_text().startswith("path\tlines")
    as_tar = shell.vyr("state", "export", "books", "--out", str(tmp_path / "copy.tar"))
    assert as_tar.returncode == 0, as_tar.stderr
    with tarfile.open(tmp_path / "copy.tar") as tar:
        names = {m.name.removeprefix("./") for m in tar.getmembers()}
    assert {"a.txt", "poems/b.txt", "link.txt"} <= names
    again = shell.vyr("state", "export", "out", "--out", str(tmp_path / "result"))
    assert again.returncode == 2 and "not an empty directory" in again.stderr, again.stderr


def test_hostile_archive_is_refused_and_leaves_no_state(
    shell: Shell,
    daemons: list,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    keyed(shell)
    daemons.append(shell.start_daemon())
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo("../escape.txt")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    done = shell.vyr("state", "create", "evil", "--from", str(archive))
    assert done.returncode == 2, done.stderr
    assert "error:" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "evil" not in shell.vyr("state", "ls").stdout
    assert not (tmp_path.parent / "escape.txt").exists()


def test_state_create_from_needs_a_daemon(shell: Shell, tmp_path: Path) -> None:
    books = _books(tmp_path / "books")
    done = shell.vyr("state", "create", "books", "--from", str(books))
    assert done.returncode != 0 and "freed when this command exits" in done.stderr, done.stderr
