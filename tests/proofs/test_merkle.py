"""quorum.proofs.merkle against a naive RFC 9162 reference written here, independently."""

from __future__ import annotations

import hashlib
import math
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.proofs import merkle
from quorum.proofs.merkle import MemoryNodeStore

# --- naive reference: RFC 9162 §2.1 transcribed literally ----------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


N = 300
LEAVES = [f"leaf {i}".encode() for i in range(N)]
LEAF_HASHES = [_h(b"\x00" + leaf) for leaf in LEAVES]


@cache
def mth(start: int, end: int) -> bytes:
    """MTH(D[start:end]) of LEAVES; cached so the exhaustive loops stay fast."""
    n = end - start
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + LEAVES[start])
    k = _k(n)
    return _h(b"\x01" + mth(start, start + k) + mth(start + k, end))


def path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) with m relative to start."""
    n = end - start
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, start, start + k), mth(start + k, end)]
    return [*path(m - k, start + k, end), mth(start, start + k)]


def subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if b else [mth(start, end)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, start, start + k, b), mth(start + k, end)]
    return [*subproof(m - k, start + k, end, False), mth(start, start + k)]


def proof(m: int, n: int) -> list[bytes]:
    return subproof(m, 0, n, True)


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    merkle.append(store, 0, LEAF_HASHES)
    return store


def _one_by_one(count: int) -> MemoryNodeStore:
    store = MemoryNodeStore()
    for i in range(count):
        merkle.append(store, i, [LEAF_HASHES[i]])
    return store


def _flip(data: bytes, position: int = 0) -> bytes:
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.singles = 0

    def get(self, level: int, index: int) -> bytes:
        self.singles += 1
        return super().get(level, index)

    def get_many(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        self.batches.append(len(keys))
        return super().get_many(keys)


class SyntheticStore:
    """Pretends to hold any complete subtree of an astronomically large tree."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def get(self, level: int, index: int) -> bytes:
        return _h(b"%d/%d" % (level, index))

    def get_many(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        self.batches.append(len(keys))
        return {key: self.get(*key) for key in keys}

    def put_many(self, items: dict[tuple[int, int], bytes]) -> None:
        raise AssertionError("read-only")


# --- hashing and reference roots -----------------------------------------------------------

CT_LEAVES = [
    bytes.fromhex(x)
    for x in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.root(MemoryNodeStore(), 0) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaves([]) == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_use_the_rfc_domain_prefixes() -> None:
    assert merkle.leaf_hash(b"x") == _h(b"\x00x")
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == _h(b"\x01" + b"a" * 32 + b"b" * 32)


def test_roots_of_the_certificate_transparency_leaves_match_the_published_roots() -> None:
    store = MemoryNodeStore()
    merkle.append(store, 0, [merkle.leaf_hash(leaf) for leaf in CT_LEAVES])
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert merkle.root(store, n).hex() == expected
        hashes = (merkle.leaf_hash(leaf) for leaf in CT_LEAVES[:n])
        assert merkle.root_from_leaves(hashes).hex() == expected


# --- roots, inclusion and consistency against the reference --------------------------------


def test_roots_of_every_historical_size_match_the_reference(full_store) -> None:
    for n in range(N + 1):
        assert merkle.root(full_store, n) == mth(0, n)


def test_every_inclusion_proof_up_to_300_leaves_equals_the_reference_and_verifies(
    full_store,
) -> None:
    for n in range(1, N + 1):
        root = mth(0, n)
        for m in range(n):
            got = merkle.inclusion_proof(full_store, m, n)
            assert got == path(m, 0, n), (m, n)
            assert merkle.verify_inclusion(LEAF_HASHES[m], m, n, got, root), (m, n)


def test_every_consistency_proof_up_to_300_leaves_equals_the_reference_and_verifies(
    full_store,
) -> None:
    for n in range(1, N + 1):
        new_root = mth(0, n)
        for m in range(1, n + 1):
            got = merkle.consistency_proof(full_store, m, n)
            assert got == proof(m, n), (m, n)
            assert merkle.verify_consistency(m, n, mth(0, m), new_root, got), (m, n)


def test_consistency_from_the_empty_tree_is_an_empty_proof(full_store) -> None:
    assert merkle.consistency_proof(full_store, 0, 17) == []
    assert merkle.verify_consistency(0, 17, merkle.EMPTY_ROOT, mth(0, 17), [])
    assert not merkle.verify_consistency(0, 17, mth(0, 1), mth(0, 17), [])
    assert not merkle.verify_consistency(0, 17, merkle.EMPTY_ROOT, mth(0, 17), [mth(0, 1)])


def test_a_tree_is_consistent_with_itself_only_through_an_empty_proof() -> None:
    assert merkle.verify_consistency(5, 5, mth(0, 5), mth(0, 5), [])
    assert not merkle.verify_consistency(5, 5, mth(0, 5), mth(0, 6), [])
    assert not merkle.verify_consistency(5, 5, mth(0, 5), mth(0, 5), [mth(0, 5)])


def test_proof_requests_outside_the_tree_are_refused(full_store) -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(full_store, 5, 5)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(full_store, -1, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(full_store, 6, 5)
    with pytest.raises(KeyError):
        merkle.root(full_store, N + 1)
    with pytest.raises(KeyError):
        merkle.inclusion_proof(full_store, 0, N + 1)


# --- tampering -----------------------------------------------------------------------------


def _inclusion_cases() -> list[tuple[int, int]]:
    return [(m, n) for n in (1, 2, 3, 5, 8, 13, 64, 100, 255, 256, 257, 300) for m in range(n)]


def test_tampered_inclusion_proofs_fail(full_store) -> None:
    for m, n in _inclusion_cases():
        good = merkle.inclusion_proof(full_store, m, n)
        root, leaf = mth(0, n), LEAF_HASHES[m]
        for i in range(len(good)):
            flipped = [*good[:i], _flip(good[i], i % 32), *good[i + 1 :]]
            assert not merkle.verify_inclusion(leaf, m, n, flipped, root)
            assert not merkle.verify_inclusion(leaf, m, n, good[:i] + good[i + 1 :], root)
        assert not merkle.verify_inclusion(leaf, m, n, [*good, good[-1] if good else leaf], root)
        assert not merkle.verify_inclusion(leaf, m, n, [root, *good], root)
        assert not merkle.verify_inclusion(_flip(leaf), m, n, good, root)
        assert not merkle.verify_inclusion(leaf, m, n, good, _flip(root))


def test_inclusion_proofs_fail_for_the_wrong_index_size_or_leaf(full_store) -> None:
    for m, n in _inclusion_cases():
        good = merkle.inclusion_proof(full_store, m, n)
        root, leaf = mth(0, n), LEAF_HASHES[m]
        for other in {m - 1, m + 1, m ^ 1, n - 1 - m} - {m}:
            if 0 <= other < n:
                assert not merkle.verify_inclusion(leaf, other, n, good, root), (m, other, n)
                assert not merkle.verify_inclusion(LEAF_HASHES[other], m, n, good, root)
        # A proof alone does not bind the size (a 3-leaf proof also "verifies" for size 4
        # against the 3-leaf root); the signed checkpoint binds size to root. So a wrong size
        # is tested with that size's own root.
        for other_n in (n - 1, n + 1, 2 * n):
            if m < other_n <= N and path(m, 0, other_n) != good:
                other_root = mth(0, other_n)
                assert not merkle.verify_inclusion(leaf, m, other_n, good, other_root), other_n
        if n > 1:  # another size's root
            assert not merkle.verify_inclusion(leaf, m, n, good, mth(0, n - 1))


def _consistency_cases() -> list[tuple[int, int]]:
    sizes = (1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 255, 256, 257, 300)
    return [(m, n) for n in sizes for m in range(1, n)]


def test_tampered_consistency_proofs_fail(full_store) -> None:
    for m, n in _consistency_cases():
        good = merkle.consistency_proof(full_store, m, n)
        old, new = mth(0, m), mth(0, n)
        for i in range(len(good)):
            flipped = [*good[:i], _flip(good[i], i % 32), *good[i + 1 :]]
            assert not merkle.verify_consistency(m, n, old, new, flipped), (m, n, i)
            assert not merkle.verify_consistency(m, n, old, new, good[:i] + good[i + 1 :])
        assert not merkle.verify_consistency(m, n, old, new, [*good, good[-1]])
        assert not merkle.verify_consistency(m, n, old, new, [old, *good])
        assert not merkle.verify_consistency(m, n, _flip(old), new, good)
        assert not merkle.verify_consistency(m, n, old, _flip(new), good)
        assert not merkle.verify_consistency(m, n, new, old, good)


def test_consistency_proofs_fail_for_the_wrong_sizes(full_store) -> None:
    for m, n in _consistency_cases():
        good = merkle.consistency_proof(full_store, m, n)
        old, new = mth(0, m), mth(0, n)
        for om, on in ((m + 1, n), (m - 1, n), (m, n + 1), (m, n - 1)):
            if 0 < om < on <= N and proof(om, on) != good:
                old_root, new_root = mth(0, om), mth(0, on)
                assert not merkle.verify_consistency(om, on, old_root, new_root, good), (om, on)
                if om == m:
                    assert not merkle.verify_consistency(om, on, old, new_root, good)
                if on == n:
                    assert not merkle.verify_consistency(om, on, old_root, new, good)


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof_", "root"),
    [
        (b"\x00" * 31, 0, 1, [], b"\x00" * 32),
        (b"\x00" * 32, 0, 1, [], b"\x00" * 33),
        (b"\x00" * 32, -1, 1, [], b"\x00" * 32),
        (b"\x00" * 32, 0, -1, [], b"\x00" * 32),
        (b"\x00" * 32, 1, 1, [], b"\x00" * 32),
        (b"\x00" * 32, 0, 0, [], b"\x00" * 32),
        (b"\x00" * 32, 0, 2, [b"\x00" * 31], b"\x00" * 32),
        (b"\x00" * 32, 0, 2, ["not bytes"], b"\x00" * 32),
        (b"\x00" * 32, 0, 2, None, b"\x00" * 32),
        (b"\x00" * 32, 0.0, 2, [], b"\x00" * 32),
        ("text", 0, 1, [], b"\x00" * 32),
    ],
)
def test_verify_inclusion_returns_false_on_malformed_input(leaf, index, size, proof_, root):
    assert merkle.verify_inclusion(leaf, index, size, proof_, root) is False


@pytest.mark.parametrize(
    ("old_size", "new_size", "old_root", "new_root", "proof_"),
    [
        (-1, 2, b"\x00" * 32, b"\x00" * 32, [b"\x00" * 32]),
        (1, -2, b"\x00" * 32, b"\x00" * 32, [b"\x00" * 32]),
        (3, 2, b"\x00" * 32, b"\x00" * 32, [b"\x00" * 32]),
        (1, 2, b"\x00" * 31, b"\x00" * 32, [b"\x00" * 32]),
        (1, 2, b"\x00" * 32, b"\x00" * 32, [b"\x00" * 3]),
        (1, 2, b"\x00" * 32, b"\x00" * 32, []),
        (1, 2, b"\x00" * 32, b"\x00" * 32, "proof"),
        (1, 2, b"\x00" * 32, None, []),
        ("1", 2, b"\x00" * 32, b"\x00" * 32, [b"\x00" * 32]),
    ],
)
def test_verify_consistency_returns_false_on_malformed_input(
    old_size, new_size, old_root, new_root, proof_
):
    assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof_) is False


# --- appending -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12))
def test_appending_in_any_batch_sizes_gives_the_same_store_as_one_by_one(batches) -> None:
    total = min(sum(batches), N)
    store, size = MemoryNodeStore(), 0
    for batch in batches:
        chunk = LEAF_HASHES[size : min(size + batch, total)]
        written = merkle.append(store, size, chunk)
        assert set(written) <= set(store.nodes)
        size += len(chunk)
    assert store.nodes == _one_by_one(total).nodes
    assert merkle.root(store, total) == mth(0, total)


def test_historical_roots_stay_correct_after_later_appends() -> None:
    store = MemoryNodeStore()
    for size in range(N):
        merkle.append(store, size, [LEAF_HASHES[size]])
        if size % 37 == 0:
            assert all(merkle.root(store, n) == mth(0, n) for n in range(size + 2))


def test_the_store_holds_at_most_two_nodes_per_leaf_and_one_append_writes_log_n_nodes() -> None:
    store = MemoryNodeStore()
    for size in range(N):
        written = merkle.append(store, size, [LEAF_HASHES[size]])
        n = size + 1
        assert len(written) <= math.floor(math.log2(n)) + 1
        # Exactly the complete subtrees: one per level L with n a multiple of 2^L.
        assert len(written) == (n & -n).bit_length()
        assert len(store) == 2 * n - n.bit_count() <= 2 * n


def test_appending_nothing_writes_nothing() -> None:
    store = CountingStore()
    assert merkle.append(store, 0, []) == {}
    assert store.nodes == {} and store.batches == []


def test_append_reads_only_the_old_right_edge() -> None:
    store = CountingStore()
    merkle.append(store, 0, LEAF_HASHES[:255])
    store.batches.clear()
    merkle.append(store, 255, LEAF_HASHES[255:256])
    assert store.batches == [8]  # the eight complete subtrees of a 255-leaf tree
    assert store.singles == 0


def test_appending_at_a_wrong_size_cannot_rewrite_the_log() -> None:
    store = MemoryNodeStore()
    merkle.append(store, 0, LEAF_HASHES[:4])
    with pytest.raises(ValueError):
        merkle.append(store, 2, LEAF_HASHES[10:12])


def test_malformed_leaf_hashes_are_refused_before_anything_is_written() -> None:
    store = MemoryNodeStore()
    with pytest.raises(ValueError):
        merkle.append(store, 0, [LEAF_HASHES[0], b"short"])
    with pytest.raises(ValueError):
        merkle.append(store, -1, [LEAF_HASHES[0]])
    assert store.nodes == {}


# --- cost ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2**20, 2**20 + 1, 10**9 + 7, 2**40 - 1, 2**62 + 12345])
def test_a_proof_reads_o_log_n_nodes_in_one_batch(size) -> None:
    bound = 2 * size.bit_length() + 2
    for index in (0, 1, size // 3, size // 2, size - 2, size - 1):
        store = SyntheticStore()
        assert len(merkle.inclusion_proof(store, index, size)) <= size.bit_length()
        assert len(store.batches) == 1 and store.batches[0] <= bound, (index, store.batches)
    for old in (1, 2, 3, size // 3, size // 2 + 1, size - 1):
        store = SyntheticStore()
        merkle.consistency_proof(store, old, size)
        assert len(store.batches) == 1 and store.batches[0] <= bound, (old, store.batches)
    store = SyntheticStore()
    merkle.root(store, size)
    assert store.batches == [size.bit_count()]


def test_real_proofs_read_one_batch_of_logarithmic_size() -> None:
    store = CountingStore()
    merkle.append(store, 0, LEAF_HASHES)
    for n in (N, 257, 100):
        for index in range(0, n, 7):
            store.batches.clear()
            merkle.inclusion_proof(store, index, n)
            assert len(store.batches) == 1
            assert store.batches[0] <= 2 * n.bit_length()
    assert store.singles == 0


# --- streaming -----------------------------------------------------------------------------


def test_streaming_roots_match_the_reference_at_every_size() -> None:
    builder = merkle.RootBuilder()
    assert builder.root() == merkle.EMPTY_ROOT
    for i, leaf in enumerate(LEAF_HASHES):
        builder.add(leaf)
        assert builder.size == i + 1
        assert builder.root() == mth(0, i + 1)
        assert len(builder._stack) == builder.size.bit_count()


def test_root_from_leaves_consumes_a_generator() -> None:
    assert merkle.root_from_leaves(iter(LEAF_HASHES)) == mth(0, N)
    with pytest.raises(ValueError):
        merkle.root_from_leaves([b"short"])
