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
from collections.abc import Callable, Sequence

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
    return subtree_hash(lambda low, high: None, leaves.__getitem__, 0, len(leaves))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `leaves` (leaf hashes)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    return audit_path(lambda low, high: None, leaves.__getitem__, index, 0, len(leaves), {})


def subtree_hash(
    stored: Callable[[int, int], bytes | None],
    leaf: Callable[[int], bytes],
    low: int,
    high: int,
    memo: dict[tuple[int, int], bytes] | None = None,
) -> bytes:
    """MTH(D[low:high]): from `stored(low, high)` when it has it, else from its halves (leaf
    hashes from `leaf(i)`); `memo` keeps every hash computed, so one batch of proofs computes
    each node once."""
    known = stored(low, high)
    if known is not None:
        return known
    if memo is not None and (low, high) in memo:
        return memo[(low, high)]
    if high - low == 1:
        result = leaf(low)
    else:
        middle = low + split(high - low)
        result = node_hash(
            subtree_hash(stored, leaf, low, middle, memo),
            subtree_hash(stored, leaf, middle, high, memo),
        )
    if memo is not None:
        memo[(low, high)] = result
    return result


def audit_path(
    stored: Callable[[int, int], bytes | None],
    leaf: Callable[[int], bytes],
    index: int,
    low: int,
    high: int,
    memo: dict[tuple[int, int], bytes] | None = None,
) -> list[bytes]:
    """PATH(index, D[low:high]) of RFC 9162 2.1.3.1, leaf first."""
    path: list[bytes] = []
    while high - low > 1:
        middle = low + split(high - low)
        if index < middle:
            path.append(subtree_hash(stored, leaf, middle, high, memo))
            high = middle
        else:
            path.append(subtree_hash(stored, leaf, low, middle, memo))
            low = middle
    path.reverse()  # the RFC lists the path from the leaf up
    return path


def audit_paths(
    stored: Callable[[int, int], bytes | None],
    leaf: Callable[[int], bytes],
    first: int,
    last: int,
    size: int,
    memo: dict[tuple[int, int], bytes],
) -> list[list[bytes]]:
    """`audit_path` of every leaf in [first, last) of a tree of `size`, in one descent: each
    node on the way is visited once and its sibling's hash added to the paths of all the
    leaves below it (a batch of N proofs costs O(N) hashes, not O(N log N) lookups)."""
    paths: list[list[bytes]] = [[] for _ in range(last - first)]

    def descend(low: int, high: int, begin: int, end: int) -> None:
        # The leaves [begin, end) lie in the subtree [low, high).
        if high - low == 1:
            return
        middle = low + split(high - low)
        if begin < middle:
            sibling = subtree_hash(stored, leaf, middle, high, memo)
            for index in range(begin, min(end, middle)):
                paths[index - first].append(sibling)
            descend(low, middle, begin, min(end, middle))
        if end > middle:
            sibling = subtree_hash(stored, leaf, low, middle, memo)
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
