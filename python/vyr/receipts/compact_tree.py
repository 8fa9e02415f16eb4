"""An append-only RFC 9162 tree that keeps only what the next checkpoint needs.

A receipt log grows for as long as its node runs; keeping every leaf hash would cost 32 bytes
per task forever. Between checkpoints this tree keeps the leaf hashes of the open batch and the
hashes of the complete subtrees left of it (one per set bit of the tree size, so at most 64).
That suffices: every sibling an inclusion proof of a batch leaf needs that lies wholly before
the batch is one of those subtrees, a largest aligned block of the old size (the aligned block
above it reaches past the old size, else its sibling would not be on the path).
"""

from __future__ import annotations

from dataclasses import dataclass

from vyr.receipts.merkle import audit_paths, root_hash, subtree_hash


@dataclass(frozen=True)
class SealedBatch:
    """A checkpoint's tree head and the inclusion proofs of the batch it closed."""

    tree_size: int
    root_hash: bytes
    first_index: int
    proofs: list[list[bytes]]  # proofs[i]: the audit path of leaf first_index + i


class CompactTree:
    """Leaves go in with `append`; `seal` closes the batch: the new tree head and a proof for
    each leaf appended since the last seal. Not thread-safe: the batcher serialises calls."""

    def __init__(self) -> None:
        self._subtrees: dict[tuple[int, int], bytes] = {}  # (low, high) -> MTH(D[low:high])
        self._start = 0  # first leaf index of the open batch
        self._pending: list[bytes] = []

    @property
    def size(self) -> int:
        """Leaves appended so far."""
        return self._start + len(self._pending)

    def append(self, leaf_hash: bytes) -> int:
        """Adds one leaf hash; returns its index."""
        self._pending.append(leaf_hash)
        return self.size - 1

    def seal(self) -> SealedBatch:
        """The head of the tree as it is now, and the open batch's proofs against it."""
        size, start, pending = self.size, self._start, self._pending
        memo: dict[tuple[int, int], bytes] = {}

        def stored(low: int, high: int) -> bytes | None:
            return self._subtrees.get((low, high))

        def leaf(index: int) -> bytes:
            return pending[index - start]

        root = subtree_hash(stored, leaf, 0, size, memo) if size else root_hash([])
        proofs = audit_paths(stored, leaf, start, size, size, memo)
        subtrees, low = {}, 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                high = low + (1 << bit)
                subtrees[(low, high)] = subtree_hash(stored, leaf, low, high, memo)
                low = high
        self._subtrees, self._start, self._pending = subtrees, size, []
        return SealedBatch(size, root, start, proofs)
