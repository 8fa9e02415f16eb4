"""An append-only RFC 9162 tree that keeps only what the next checkpoint needs.

A receipt log grows for as long as its node runs; keeping every leaf hash would cost 32 bytes
per task forever. Between checkpoints this tree keeps the leaf hashes of the open batch and the
hashes of the complete subtrees left of it (one per set bit of the tree size, so at most 64).
That suffices: every sibling an inclusion proof of a batch leaf needs that lies wholly before
the batch is one of those subtrees, a largest aligned block of the old size (the aligned block
above it reaches past the old size, else its sibling would not be on the path).
"""

from __future__ import annotations

from vyr.receipts.merkle import Subtrees, root_hash


class SealedBatch:
    """A checkpoint's tree head, and the inclusion proofs of the batch it closed, computed
    when asked for: sealing hashes each node once, a proof is then a few lookups."""

    def __init__(
        self,
        tree_size: int,
        first_index: int,
        leaves: list[bytes],
        subtrees: dict[tuple[int, int], bytes],
    ) -> None:
        self.tree_size, self.first_index = tree_size, first_index
        self.nodes = Subtrees(leaves, first_index, subtrees)
        # Hashing the root computes (and keeps) every node a proof of this batch needs.
        self.root_hash = self.nodes.hash(0, tree_size) if tree_size else root_hash([])

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf `index` (one of this batch's) in the sealed tree."""
        if not self.first_index <= index < self.tree_size:
            raise IndexError(f"leaf {index} is not in this batch")
        return self.nodes.path(index, self.tree_size)

    def proofs(self) -> list[list[bytes]]:
        """Every leaf's audit path, in one descent (`proofs()[i]`: leaf first_index + i)."""
        return self.nodes.paths(self.first_index, self.tree_size, self.tree_size)


class CompactTree:
    """Leaves go in with `append`; `seal` closes the batch: the new tree head, and the proofs
    of the leaves appended since the last seal. Not thread-safe: the batcher serialises calls."""

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

    def extend(self, leaf_hashes: list[bytes]) -> None:
        """Adds leaf hashes, in order."""
        self._pending.extend(leaf_hashes)

    def seal(self) -> SealedBatch:
        """The head of the tree as it is now; its proofs for the open batch."""
        size = self.size
        batch = SealedBatch(size, self._start, self._pending, self._subtrees)
        subtrees, low = {}, 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                subtrees[(low, low + (1 << bit))] = batch.nodes.hash(low, low + (1 << bit))
                low += 1 << bit
        self._subtrees, self._start, self._pending = subtrees, size, []
        return batch
