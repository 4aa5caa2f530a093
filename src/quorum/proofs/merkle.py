"""RFC 9162 §2.1 Merkle tree over a store of complete subtree hashes.

The log keeps, for every level L and index i, the hash of leaves [i·2^L, (i+1)·2^L) once that
subtree is complete, and nothing else. A node never changes once written, so the store is
append-only (at most 2n nodes for n leaves) and any historical tree size can still be served:

- ``append`` writes the O(log n) nodes a new leaf completes, reading at most log n old ones;
- ``root`` and the proofs decompose each subtree they need into complete aligned subtrees,
  collect those keys first and fetch them with *one* ``get_many``, so an SQL store answers a
  proof with one query;
- the verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 to the letter and return ``False``
  rather than raise on any malformed input;
- ``root_from_leaves`` / ``RootBuilder`` recompute a root from a stream of leaf hashes in
  O(log n) memory, for auditors and the authority toolkit.

Pure: standard library only (the offline authority toolkit imports it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_LENGTH",
    "MemoryNodeStore",
    "NodeKey",
    "NodeStore",
    "RootBuilder",
    "append",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_LENGTH = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
"""``(level, index)``: the complete subtree over leaves [index·2^level, (index+1)·2^level)."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


# --- stores --------------------------------------------------------------------------------


class NodeStore(Protocol):
    def get(self, level: int, index: int) -> bytes:
        """The node's hash; ``KeyError`` if absent."""
        ...

    def get_many(self, keys: list[NodeKey]) -> dict[NodeKey, bytes]:
        """The hashes of those keys that exist (callers check for missing ones)."""
        ...

    def put_many(self, items: dict[NodeKey, bytes]) -> None: ...


class MemoryNodeStore:
    """A dict-backed ``NodeStore``; refuses to change a node once written."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def get_many(self, keys: list[NodeKey]) -> dict[NodeKey, bytes]:
        nodes = self.nodes
        return {key: nodes[key] for key in keys if key in nodes}

    def put_many(self, items: dict[NodeKey, bytes]) -> None:
        nodes = self.nodes
        # A node is a hash of fixed leaves: rewriting it with another value means the caller
        # appended at the wrong size, which must fail loudly rather than fork the log.
        for key, value in items.items():
            old = nodes.get(key)
            if old is not None and old != value:
                raise ValueError(f"node {key} already holds a different hash")
        nodes.update(items)


def _fetch(store: NodeStore, keys: list[NodeKey]) -> dict[NodeKey, bytes]:
    found = store.get_many(keys) if keys else {}
    missing = [key for key in keys if key not in found]
    if missing:
        raise KeyError(f"the node store lacks {len(missing)} node(s), e.g. {missing[0]}")
    return found


# --- appending -----------------------------------------------------------------------------


def append(store: NodeStore, size: int, leaf_hashes: Sequence[bytes]) -> dict[NodeKey, bytes]:
    """Append leaves to a tree of ``size`` leaves; write and return the nodes they complete.

    Amortised O(1) hashes per leaf (at most log2(n)+1 nodes for a single leaf), and at most
    one ``get_many`` of fewer than log2(n)+1 existing nodes per call. ``size`` must be the
    store's true size, kept by the caller (under the sequencer's lock): a smaller one hits a
    node already written (``MemoryNodeStore`` raises), a larger one may leave a silent gap.
    """
    _require_size(size)
    row = list(leaf_hashes)
    for leaf in row:
        _require_hash(leaf, "a leaf hash")
    if not row:
        return {}
    frontier = _fetch(store, _frontier_keys(size, size + len(row)))
    created: dict[NodeKey, bytes] = {}
    level, first = 0, size
    while row:
        created.update(zip(((level, first + j) for j in range(len(row))), row, strict=True))
        if first & 1:
            # The run starts with a right child: pair it with its complete left sibling.
            row.insert(0, frontier[(level, first - 1)])
            first -= 1
        row = [node_hash(row[j], row[j + 1]) for j in range(0, len(row) - 1, 2)]
        level, first = level + 1, first >> 1
    store.put_many(created)
    return created


def _frontier_keys(size: int, end: int) -> list[NodeKey]:
    """Old nodes the new ones need: the left siblings along the old tree's right edge."""
    keys = []
    level = 0
    while size >> level:
        if (size >> level) & 1 and (end >> (level + 1)) > (size >> (level + 1)):
            keys.append((level, (size >> level) - 1))
        level += 1
    return keys


# --- roots and proofs ----------------------------------------------------------------------


def root(store: NodeStore, size: int) -> bytes:
    """MTH of the first ``size`` leaves; any size up to the store's current size."""
    _require_size(size)
    if size == 0:
        return EMPTY_ROOT
    return _subtree_hashes(store, [(0, size)])[0]


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, the leaf's sibling first."""
    _require_size(size)
    if type(index) is not int or not 0 <= index < size:
        raise ValueError(f"leaf index {index!r} is not in a tree of {size} leaves")
    return _subtree_hashes(store, _inclusion_ranges(index, size))


def consistency_proof(store: NodeStore, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1; empty if there is nothing to prove."""
    _require_size(old_size)
    _require_size(new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} exceeds new size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subtree_hashes(store, _consistency_ranges(old_size, new_size))


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PATH(index, D[size]), in proof order."""
    ranges = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()  # built root-down; the proof lists the leaf's sibling first
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up SUBPROOF(old_size, D[new_size], true)."""
    ranges = []
    start, end, m, whole_old_tree = 0, new_size, old_size, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole_old_tree = start + k, m - k, False
    if not whole_old_tree:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _subtree_hashes(store: NodeStore, ranges: list[tuple[int, int]]) -> list[bytes]:
    """MTH of each leaf range, from one batched read of complete subtrees."""
    pieces = [_complete_subtrees(start, end) for start, end in ranges]
    nodes = _fetch(store, [key for keys in pieces for key in keys])
    return [_fold([nodes[key] for key in keys]) for keys in pieces]


def _complete_subtrees(start: int, end: int) -> list[NodeKey]:
    """Split [start, end) into complete aligned subtrees, largest first.

    Every range a proof asks for is a node of the RFC tree, so ``start`` is a multiple of a
    power of two no smaller than the range: taking the set bits of the length from the top
    yields aligned subtrees, and folding them from the right gives the range's MTH.
    """
    keys = []
    length = end - start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def _fold(hashes: list[bytes]) -> bytes:
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` of a ``size``-leaf tree is ``leaf_hash``."""
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof)):
        return False
    if not (_is_size(index) and _is_size(size)) or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the ``old_size`` tree is a prefix of the ``new_size`` tree."""
    if not (_is_hash(old_root) and _is_hash(new_root) and _is_proof(proof)):
        return False
    if not (_is_size(old_size) and _is_size(new_size)) or old_size > new_size:
        return False
    # The RFC algorithm covers 0 < old < new; the two trivial cases have empty proofs.
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    return _verify_consistency_path(old_size, new_size, old_root, new_root, list(proof))


def _verify_consistency_path(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_hash and sr == second_hash


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_LENGTH


def _is_proof(proof: object) -> bool:
    return isinstance(proof, list | tuple) and all(_is_hash(p) for p in proof)


def _is_size(value: object) -> bool:
    return type(value) is int and value >= 0


# --- streaming roots -----------------------------------------------------------------------


class RootBuilder:
    """Root of a growing tree in O(log n) memory: a stack of complete subtree hashes."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # complete subtrees, largest (leftmost) first

    def add(self, leaf_hash: bytes) -> None:
        _require_hash(leaf_hash, "a leaf hash")
        stack = self._stack
        stack.append(leaf_hash)
        self.size += 1
        # Each trailing 1-bit of the new size is a pair of equal subtrees to merge.
        merges = (self.size & -self.size).bit_length() - 1
        for _ in range(merges):
            right = stack.pop()
            stack[-1] = node_hash(stack[-1], right)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.add(leaf)

    def root(self) -> bytes:
        return _fold(self._stack) if self._stack else EMPTY_ROOT


def root_from_leaves(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over an iterable of leaf hashes, consumed lazily in O(log n) memory."""
    builder = RootBuilder()
    builder.extend(leaf_hashes)
    return builder.root()


# --- argument checks -----------------------------------------------------------------------


def _require_size(size: int) -> None:
    if not _is_size(size):
        raise ValueError(f"a tree size must be a non-negative integer, not {size!r}")


def _require_hash(value: bytes, what: str) -> None:
    if not _is_hash(value):
        raise ValueError(f"{what} must be {HASH_LENGTH} bytes")
