"""The tree digest (`vyrTreeV1`): a fixed vector any implementation must reproduce, the
documented snippet agreeing with it, and what changes it and what does not."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from vyr.errors import InvalidArgument
from vyr.receipts import tree_digest

from harness.receipts import doc_snippet

# docs/receipts.md, "Tree digest": the test vector. A Rust implementation must agree.
VECTOR_DIGEST = "b49056937d3c4cc872a09c4abaea1bc8c83148e28baa76bdebe5499143571848"
EMPTY_DIGEST = "2f2ad4ea7f197352ac71dc5b3584e6755c646eca7193eed7156e043ccb768644"


def make_vector_tree(root: Path) -> Path:
    """The test vector's tree, modes set explicitly (the umask must not matter)."""
    root.mkdir()
    files = {
        "a.txt": (b"alpha\n", 0o644),
        "bin/run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
        "sub/b.bin": (bytes(range(256)), 0o400),
        "sub.txt": (b"", 0o600),
    }
    for directory in ("bin", "empty", "sub"):
        (root / directory).mkdir()
    for name, (content, mode) in files.items():
        (root / name).write_bytes(content)
        os.chmod(root / name, mode)
    os.symlink("a.txt", root / "link")
    for directory, mode in (("bin", 0o755), ("empty", 0o500), ("sub", 0o700)):
        os.chmod(root / directory, mode)
    return root


def documented_tree_digest() -> Callable[[Path], str]:
    namespace: dict[str, object] = {}
    exec(doc_snippet("tree-digest"), namespace)
    return namespace["vyr_tree_v1"]  # type: ignore[return-value]


def test_the_fixed_vector(tmp_path: Path) -> None:
    root = make_vector_tree(tmp_path / "tree")
    assert tree_digest(root) == VECTOR_DIGEST
    (tmp_path / "empty").mkdir()
    assert tree_digest(tmp_path / "empty") == EMPTY_DIGEST


def test_the_documented_snippet_computes_the_same_digest(tmp_path: Path) -> None:
    outsider = documented_tree_digest()
    root = make_vector_tree(tmp_path / "tree")
    assert outsider(root) == VECTOR_DIGEST
    (root / "sub" / "deeper").mkdir()
    (root / "sub" / "deeper" / "x y\nz").write_bytes(b"odd name")
    assert outsider(root) == tree_digest(root) != VECTOR_DIGEST


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "a.txt").write_bytes(b"alphA\n"),  # content, same size
        lambda root: (root / "sub.txt").write_bytes(b"x"),  # an empty file no longer empty
        lambda root: os.chmod(root / "a.txt", 0o744),  # the owner's x bit
        lambda root: os.chmod(root / "a.txt", 0o444),  # the owner's w bit
        lambda root: os.chmod(root / "bin", 0o555),  # a directory's owner bits
        lambda root: os.rename(root / "a.txt", root / "b.txt"),  # a rename
        lambda root: os.rename(root / "sub" / "b.bin", root / "b.bin"),  # a move
        lambda root: (root / "empty2").mkdir(),  # an empty directory
        lambda root: (os.unlink(root / "link"), os.symlink("sub.txt", root / "link")),
        lambda root: (os.unlink(root / "link"), (root / "link").write_bytes(b"a.txt")),
    ],
    ids=[
        "content",
        "size",
        "owner-x",
        "owner-w",
        "dir-mode",
        "rename",
        "move",
        "empty-dir",
        "symlink-target",
        "symlink-to-file",
    ],
)
def test_what_a_guest_can_change_changes_the_digest(
    tmp_path: Path, change: Callable[[Path], object]
) -> None:
    root = make_vector_tree(tmp_path / "tree")
    change(root)
    assert tree_digest(root) != VECTOR_DIGEST
    assert documented_tree_digest()(root) == tree_digest(root)


def test_what_a_guest_cannot_see_leaves_it_alone(tmp_path: Path) -> None:
    root = make_vector_tree(tmp_path / "tree")
    os.chmod(root / "a.txt", 0o600)  # group and other bits: the host's umask, not the guest
    os.utime(root / "a.txt", (0, 0))  # times
    os.chmod(root, 0o711)  # the root itself is not an entry
    assert tree_digest(root) == VECTOR_DIGEST
    copy = tmp_path / "elsewhere" / "tree"
    copy.parent.mkdir()
    os.rename(root, copy)  # where the tree lives
    assert tree_digest(copy) == VECTOR_DIGEST


def test_a_fifo_or_a_missing_directory_is_refused(tmp_path: Path) -> None:
    root = make_vector_tree(tmp_path / "tree")
    os.mkfifo(root / "pipe")
    with pytest.raises(InvalidArgument, match="neither a file, a directory nor a symlink"):
        tree_digest(root)
    with pytest.raises(InvalidArgument, match="does not exist"):
        tree_digest(tmp_path / "nothing")
    with pytest.raises(InvalidArgument, match="not a directory"):
        tree_digest(root / "a.txt")
