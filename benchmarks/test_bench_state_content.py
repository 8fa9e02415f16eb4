"""States filled from files, read back, and bound (issue 10 "Speed"), each beside its baseline
measured in the same run:

- a read-only binding of a 1 KiB and of a 256 MiB state, next to the same task with no state
  (a reader sees the committed directory itself: no copy per task);
- filling a state from a directory of 64 MiB in 1,000 files, next to `cp -r` of that tree, and
  exporting it as a tar archive, next to `tar -cf`;
- a read-write task that changes one file, for states of 1, 16 and 64 MiB (a writer works on a
  private copy of the state, so this grows with the state's size; docs/benchmarks.md says how).

    .venv/bin/python -m pytest benchmarks/test_bench_state_content.py -p no:faulthandler \\
        --benchmark-only --benchmark-json=docs/data/bench-state.json
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from vyr.types import StateBinding

MIB = 1 << 20
FILES = 1000
_names = itertools.count()


def _tree(root: Path, total_bytes: int, files: int) -> Path:
    """`files` files of random bytes in 10 subdirectories, `total_bytes` in all."""
    size = total_bytes // files
    for index in range(files):
        directory = root / f"d{index % 10}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{index}.bin").write_bytes(os.urandom(size))
    return root


@pytest.fixture(scope="module")
def tree_64m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("tree64"), 64 * MIB, FILES)


def _filled(node: Any, root: Path, total_bytes: int, files: int) -> str:
    name = f"bench-{next(_names)}"
    node.create_state(name, source=_tree(root, total_bytes, files))
    return name


def _scratch(tmp_path: Path) -> Path:
    scratch = tmp_path / f"round-{next(_names)}"
    scratch.mkdir()
    return scratch


def test_state_task_without_state(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """The warm task the bindings are compared with."""
    digest = digests["hello"]
    benchmark.group = "state-content"
    benchmark.pedantic(node.run, args=(digest, b"hi"), rounds=500, warmup_rounds=50)
    benchmark.extra_info.update(key="state_none", label="warm task, no state", baseline=True)


@pytest.mark.parametrize(("label", "total"), [("1 KiB", 1024), ("256 MiB", 256 * MIB)])
def test_state_ro_binding(
    benchmark: Any, node: Any, digests: dict[str, str], tmp_path: Path, label: str, total: int
) -> None:
    """The same task with a read-only binding of a small and of a large state."""
    state = _filled(node, tmp_path / "tree", total, 1 if total < MIB else 256)
    bindings = [StateBinding(state, "ro")]
    benchmark.group = "state-content"
    benchmark.pedantic(
        node.run, args=(digests["hello"], b"hi", bindings), rounds=500, warmup_rounds=50
    )
    benchmark.extra_info.update(key=f"state_ro_{total}", label=f"warm task, ro binding, {label}")


def test_state_fill_cp_baseline(benchmark: Any, tree_64m: Path, tmp_path: Path) -> None:
    """`cp -r` of the 64 MiB, 1,000-file tree: the floor for filling a state from it."""

    def copy() -> None:
        subprocess.run(["cp", "-r", str(tree_64m), str(_scratch(tmp_path) / "copy")], check=True)

    benchmark.group = "state-content"
    benchmark.pedantic(copy, rounds=8, warmup_rounds=1)
    benchmark.extra_info.update(key="state_fill_cp", label="cp -r, 64 MiB in 1,000 files")


def test_state_fill_from_dir(benchmark: Any, node: Any, tree_64m: Path) -> None:
    """`create_state(source=DIR)` of the same tree (checked, copied, digested)."""
    benchmark.group = "state-content"
    benchmark.pedantic(
        lambda: node.create_state(f"fill-{next(_names)}", source=tree_64m),
        rounds=8,
        warmup_rounds=1,
    )
    benchmark.extra_info.update(
        key="state_fill_dir", label="state create --from DIR, 64 MiB in 1,000 files"
    )


def test_state_export_tar_baseline(benchmark: Any, tree_64m: Path, tmp_path: Path) -> None:
    """`tar -cf` of the tree: the floor for exporting it."""

    def archive() -> None:
        out = _scratch(tmp_path) / "tree.tar"
        subprocess.run(["tar", "-cf", str(out), "-C", str(tree_64m), "."], check=True)

    benchmark.group = "state-content"
    benchmark.pedantic(archive, rounds=8, warmup_rounds=1)
    benchmark.extra_info.update(key="state_export_tar", label="tar -cf, 64 MiB in 1,000 files")


def test_state_export(benchmark: Any, node: Any, tree_64m: Path, tmp_path: Path) -> None:
    """`export_state(NAME, FILE.tar)` of a state holding the tree."""
    state = f"export-{next(_names)}"
    node.create_state(state, source=tree_64m)
    benchmark.group = "state-content"
    benchmark.pedantic(
        lambda: node.export_state(state, _scratch(tmp_path) / "state.tar"),
        rounds=8,
        warmup_rounds=1,
    )
    benchmark.extra_info.update(key="state_export", label="state export --out FILE.tar, 64 MiB")


@pytest.mark.parametrize("mib", [1, 16, 64])
def test_state_rw_one_file(
    benchmark: Any, node: Any, digests: dict[str, str], tmp_path: Path, mib: int
) -> None:
    """A writer that changes one small file of a state of `mib` MiB in 100 files."""
    state = _filled(node, tmp_path / "tree", mib * MIB, 100)
    args = ["put", "data", "changed.txt"]
    bindings = [StateBinding(state, "rw", "/state/data")]

    def write() -> None:
        result = node.run(digests["state-file"], b"new", bindings, args=args)
        assert result.status == "succeeded", result.reason

    benchmark.group = "state-content"
    benchmark.pedantic(write, rounds=10, warmup_rounds=1)
    benchmark.extra_info.update(
        key=f"state_rw_{mib}m", label=f"rw task changing one file, {mib} MiB state"
    )
    shutil.rmtree(tmp_path / "tree", ignore_errors=True)
