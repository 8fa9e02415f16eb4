"""State content through `vyr.Runtime`: filled from a directory or a tar archive, changed by a
rw task, read back by export, with a tree digest per version and per binding; hostile content
is refused and leaves nothing behind."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from vyr import _core
from vyr.errors import CapacityExceeded, InvalidArchive, InvalidArgument
from vyr.receipts.tree_digest import tree_digest as python_tree_digest


@pytest.fixture
def node(tmp_path: Path, key: Path) -> Iterator[object]:
    """The embedded runtime only: filling and exporting over the Control API are tested
    with the client."""
    from vyr.runtime import Runtime

    runtime = Runtime(tmp_path / "home", state_linger_s=0.2, state_dir=str(tmp_path / "states"))
    runtime.trust_add(Path(f"{key}.pub").read_text())
    yield runtime
    runtime.close()


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "sub").mkdir()
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)))
    os.symlink("a.txt", root / "alias")
    return root


def _states_left(tmp_path: Path) -> list[str]:
    """Entries in the node's state directories (one per live state, plus any leftovers)."""
    return sorted(p.name for base in (tmp_path / "states").iterdir() for p in base.iterdir())


def test_fill_from_a_directory_and_export_it(node, tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    state = node.create_state("data", source=source)
    assert state.digest == python_tree_digest(source) == _core.tree_digest(source)
    assert (state.bytes, state.files) == (6 + 256, 4)
    assert node.list_states()[0].digest == state.digest
    exported = node.export_state("data", tmp_path / "out")
    assert exported.digest == state.digest
    assert python_tree_digest(tmp_path / "out") == state.digest
    assert os.readlink(tmp_path / "out" / "alias") == "a.txt"


def test_fill_from_a_tar_and_export_an_archive(node, tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    for suffix in (".tar", ".tar.gz"):
        archive = tmp_path / f"data{suffix}"
        with tarfile.open(archive, "w:gz" if suffix.endswith("gz") else "w") as tar:
            for name in ("a.txt", "sub", "alias"):
                tar.add(source / name, arcname=name)
        state = node.create_state(f"from{suffix.replace('.', '-')}", source=archive)
        assert state.digest == python_tree_digest(source)
    out = tmp_path / "export.tar"
    node.export_state("from-tar", out)
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["a.txt", "alias", "sub", "sub/b.bin"]
    assert members["alias"].issym() and members["alias"].linkname == "a.txt"
    assert {m.mtime for m in members.values()} == {0}
    assert {(m.uid, m.gid) for m in members.values()} == {(0, 0)}


def test_a_rw_task_change_is_exported_with_digests_before_and_after(
    node, put_guest, tmp_path: Path
) -> None:
    source = _tree(tmp_path / "src")
    state = node.create_state("work", source=source)
    digest = put_guest("state-file")
    written = node.run(
        digest, b"changed", state_bindings=["work:rw"], args=["put", "work", "a.txt"]
    )
    assert written.ok, written.stderr
    (bound,) = written.bindings
    assert bound == (state.id, "work", "rw")  # still the old triple
    assert bound.before == state.digest
    assert bound.after == node.list_states()[0].digest != state.digest
    node.export_state("work", tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"changed"
    assert python_tree_digest(tmp_path / "out") == bound.after
    # The symlink survived the rw task's working copy, and a reader follows it.
    assert os.readlink(tmp_path / "out" / "alias") == "a.txt"
    read = node.run(digest, state_bindings=["work:ro"], args=["get", "work", "alias"])
    assert (read.status, read.stdout) == ("succeeded", b"changed")
    (ro,) = read.bindings
    assert (ro.before, ro.after) == (bound.after, None)


def test_a_failed_rw_task_leaves_the_digest(node, put_guest, tmp_path: Path) -> None:
    state = node.create_state("kept", source=_tree(tmp_path / "src"))
    digest = put_guest("state-file")
    failed = node.run(digest, b"x", state_bindings=["kept:rw"], args=["put", "kept", "no/such"])
    assert failed.status == "failed"
    (bound,) = failed.bindings
    assert bound.before == bound.after == state.digest


@pytest.mark.parametrize(
    ("member", "error"),
    [
        ("traversal", InvalidArchive),
        ("absolute", InvalidArchive),
        ("escaping-link", InvalidArchive),
        ("fifo", InvalidArchive),
        ("too-big", CapacityExceeded),
    ],
)
def test_hostile_archives_are_refused_and_leave_nothing(
    tmp_path: Path, key: Path, member: str, error: type[Exception]
) -> None:
    from vyr.runtime import Runtime

    runtime = Runtime(tmp_path / "home", state_dir=str(tmp_path / "states"), max_state_bytes=1024)
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("ok.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(
            {"traversal": "../evil", "absolute": "/tmp/evil"}.get(member, "entry")
        )
        if member == "escaping-link":
            info.type, info.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        elif member == "fifo":
            info.type = tarfile.FIFOTYPE
        data = b"x" * 2048 if member == "too-big" else b"x"
        info.size = len(data) if info.type == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(error):
        runtime.create_state("evil", source=archive)
    assert runtime.list_states() == []
    assert _states_left(tmp_path) == []
    runtime.close()


def test_export_refuses_a_non_empty_directory(node, tmp_path: Path) -> None:
    node.create_state("s", source=_tree(tmp_path / "src"))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine").write_text("keep")
    with pytest.raises(InvalidArgument, match="not empty"):
        node.export_state("s", tmp_path / "busy")
    assert os.listdir(tmp_path / "busy") == ["mine"]


def test_client_side_pack_unpack_and_write_back(tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    _core.pack_tar(source, tmp_path / "s.tar")
    filled = _core.unpack_tar(tmp_path / "s.tar", tmp_path / "unpacked", 1 << 20)
    assert filled == {"bytes": 262, "files": 4}
    assert _core.tree_digest(tmp_path / "unpacked") == _core.tree_digest(source)
    host = tmp_path / "host"
    host.mkdir()
    (host / "stale").write_text("removed by the mirror")
    _core.write_back(source, host)
    assert _core.tree_digest(host) == _core.tree_digest(source)
