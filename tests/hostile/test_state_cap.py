"""Issue 13 item 2: a state's size cap holds while the guest writes, not only at commit.

A guest writes 256 MiB, 1 MiB per write, into a state capped at 16 MiB. Fixed, either its
writes past the cap fail (ENOSPC or EDQUOT: the guest stops and reports how far it got) or the
task is stopped with `state_limit_exceeded`; both are allowed. Either way the bytes on disk
(sampled every millisecond under the node's state directory) and the bytes the guest managed to
write never exceed the cap by more than one write. Today the guest writes all 256 MiB to the
state directory (RAM, in /dev/shm) and is refused only when it commits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CAP_BYTES = 16 << 20
WRITE_BYTES = 1 << 20  # the guest's write size: the overshoot the issue allows
ASKED_MIB = 256
SAMPLE_SLACK_BYTES = WRITE_BYTES  # a sample may land while one more write is in flight


@pytest.fixture
def capped_node(tmp_path: Path, key: Path) -> Iterator[object]:
    from vyr.runtime import Runtime

    runtime = Runtime(
        tmp_path / "home",
        state_dir=str(tmp_path / "states"),
        state_linger_s=0.2,
        max_state_bytes=CAP_BYTES,
    )
    runtime.trust_add(Path(f"{key}.pub").read_text())
    yield runtime
    runtime.close()


def _tree_bytes(root: Path) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                pass  # a working copy swapped or removed under the walk
    return total


class PeakSampler(threading.Thread):
    """Samples the bytes under a directory every millisecond; keeps the largest figure."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.done = root, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.001):
            self.peak = max(self.peak, _tree_bytes(self.root))


@pytest.mark.xfail(
    strict=True, reason="issue 13 item 2: the state size cap is checked only at commit"
)
def test_state_cap_holds_while_the_guest_writes(
    capped_node: object,
    tmp_path: Path,
    hostile_guests: dict[str, Path],
    sign_copy: Callable[[Path], Path],
) -> None:
    node: object = capped_node
    digest = node.put_module_file(sign_copy(hostile_guests["state_writer"])).digest  # type: ignore[attr-defined]
    node.create_state("capped")  # type: ignore[attr-defined]
    sampler = PeakSampler(tmp_path / "states")
    sampler.start()
    try:
        result = node.run(digest, state_bindings=["capped:rw"], args=["capped", str(ASKED_MIB)])  # type: ignore[attr-defined]
    finally:
        sampler.done.set()
        sampler.join()
    words = result.stdout.decode().split()
    stopped = result.trap_code == "state_limit_exceeded" and result.status == "trapped"
    refused_writes = len(words) == 4 and words[3] in ("ENOSPC", "EDQUOT")
    assert stopped or refused_writes, result
    if words:
        assert int(words[1]) <= CAP_BYTES + WRITE_BYTES, f"the guest wrote {words[1]} bytes"
    assert sampler.peak <= CAP_BYTES + WRITE_BYTES + SAMPLE_SLACK_BYTES, (
        f"{sampler.peak} bytes on disk under a {CAP_BYTES}-byte cap"
    )
    assert [s.bytes for s in node.list_states()] == [0]  # type: ignore[attr-defined]


def test_state_within_its_cap_commits(
    capped_node: object, hostile_guests: dict[str, Path], sign_copy: Callable[[Path], Path]
) -> None:
    """The control: a writer that stays under the cap succeeds and its bytes are kept."""
    node: object = capped_node
    digest = node.put_module_file(sign_copy(hostile_guests["state_writer"])).digest  # type: ignore[attr-defined]
    node.create_state("small")  # type: ignore[attr-defined]
    result = node.run(digest, state_bindings=["small:rw"], args=["small", "4"])  # type: ignore[attr-defined]
    assert (result.status, result.stdout) == ("succeeded", b"wrote 4194304 errno none\n")
    assert [s.bytes for s in node.list_states()] == [4 << 20]  # type: ignore[attr-defined]
