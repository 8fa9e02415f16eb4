"""RFC 9162 (Certificate Transparency v2) Merkle trees, section 2.1, with SHA-256.

    leaf hash:  SHA-256(0x00 || entry)
    node hash:  SHA-256(0x01 || left || right)
    MTH(D[n]):  n = 1: the leaf hash; n > 1: node(MTH(D[0:k]), MTH(D[k:n])), k the largest
                power of two smaller than n

An inclusion proof (the audit path, 2.1.3.1) lists the sibling hashes from the leaf up;
`root_from_inclusion` is the verification algorithm of 2.1.3.2, written from the RFC's text
independently of `inclusion_path`, so each checks the other in the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from vyr.errors import ReceiptInvalid

HASH_SIZE = 32


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """k: the largest power of two smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (the empty tree: SHA-256 of nothing)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return Subtrees(leaves).hash(0, len(leaves))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `leaves` (leaf hashes)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    return Subtrees(leaves).path(index, len(leaves))


class Subtrees:
    """MTH(D[low:high]) for ranges of one tree, from `known` subtree hashes and the leaf hashes
    `leaves` (leaf `i` at `leaves[i - offset]`). Every hash computed is kept in `known`, so a
    batch of proofs computes each node once, and a proof after that is only lookups."""

    def __init__(
        self,
        leaves: Sequence[bytes],
        offset: int = 0,
        known: dict[tuple[int, int], bytes] | None = None,
    ) -> None:
        self.leaves, self.offset = leaves, offset
        self.known = dict(known or {})

    def hash(self, low: int, high: int) -> bytes:
        """MTH(D[low:high])."""
        known, leaves, offset = self.known, self.leaves, self.offset

        def mth(low: int, high: int) -> bytes:
            # A closure, not a method: this runs once per node of every batch.
            node = known.get((low, high))
            if node is None:
                if high - low == 1:
                    return leaves[low - offset]
                middle = low + split(high - low)
                node = node_hash(mth(low, middle), mth(middle, high))
                known[(low, high)] = node
            return node

        return mth(low, high)

    def path(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 2.1.3.1, leaf first."""
        path: list[bytes] = []
        low, high = 0, size
        while high - low > 1:
            middle = low + split(high - low)
            if index < middle:
                path.append(self.hash(middle, high))
                high = middle
            else:
                path.append(self.hash(low, middle))
                low = middle
        path.reverse()  # the RFC lists the path from the leaf up
        return path

    def paths(self, first: int, last: int, size: int) -> list[list[bytes]]:
        """`path` of every leaf in [first, last), in one descent: each node on the way is
        visited once and its sibling's hash added to the paths of all the leaves below it."""
        paths: list[list[bytes]] = [[] for _ in range(last - first)]

        def descend(low: int, high: int, begin: int, end: int) -> None:
            # The leaves [begin, end) lie in the subtree [low, high).
            if high - low == 1:
                return
            middle = low + split(high - low)
            if begin < middle:
                sibling = self.hash(middle, high)
                for index in range(begin, min(end, middle)):
                    paths[index - first].append(sibling)
                descend(low, middle, begin, min(end, middle))
            if end > middle:
                sibling = self.hash(low, middle)
                for index in range(max(begin, middle), end):
                    paths[index - first].append(sibling)
                descend(middle, high, max(begin, middle), end)

        if first < last:
            descend(0, size, first, last)
        for path in paths:
            path.reverse()  # collected root first; the RFC lists them from the leaf up
        return paths


def root_from_inclusion(index: int, size: int, entry_hash: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2); `ReceiptInvalid` when the
    proof cannot belong to a tree of that size at all (wrong length, index out of range)."""
    if not 0 <= index < size:
        raise ReceiptInvalid(f"inclusion proof: leaf index {index} is not below tree size {size}")
    fn, sn, result = index, size - 1, entry_hash
    for sibling in path:
        if len(sibling) != HASH_SIZE:
            raise ReceiptInvalid("inclusion proof: a hash is not 32 bytes")
        if sn == 0:
            raise ReceiptInvalid("inclusion proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:  # fn == sn: climb past the levels where it has no sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ReceiptInvalid("inclusion proof: shorter than the tree is deep")
    return result
