from __future__ import annotations

from typing import NamedTuple

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from quorum.authorities.models import Authority, AuthorityKey, KeyLogCheckpoint, KeyLogLeaf
from quorum.proofs import merkle
from quorum.proofs.crypto import decode_key

MAX_KEY_LOG_LEAVES_PER_PAGE = 1000


class SealingKey(NamedTuple):
    """The key a statement is sealed to: its record (named in the batch) and its public half."""

    key_id: int
    public_key: bytes
    fingerprint: str


def authority_list(*, scheme: str) -> QuerySet[Authority]:
    return Authority.objects.filter(scheme=scheme).select_related("current_key")


def authority_get(*, scheme: str, member_state: str) -> Authority | None:
    return (
        Authority.objects.filter(scheme=scheme, member_state=member_state)
        .select_related("current_key")
        .first()
    )


def authority_sealing_keys(*, scheme: str) -> dict[str, SealingKey]:
    """Member State → its authority's current sealing key, for every authority that has one."""
    rows = Authority.objects.filter(scheme=scheme, current_key__isnull=False).values_list(
        "member_state",
        "current_key_id",
        "current_key__sealing_public_key",
        "current_key__fingerprint",
    )
    return {
        member_state: SealingKey(key_id, decode_key(public), fingerprint)
        for member_state, key_id, public, fingerprint in rows
    }


def authority_keys_of(*, authority: Authority) -> QuerySet[AuthorityKey]:
    """Every key the authority ever registered, oldest first."""
    return AuthorityKey.objects.filter(authority=authority).order_by("sequence")


def authorities_of_staff(user: User | AnonymousUser) -> QuerySet[Authority]:
    if not user.is_authenticated:
        return Authority.objects.none()
    return Authority.objects.filter(staff__user=user)


# --- the key log -----------------------------------------------------------------------------


def key_log_checkpoint_latest() -> KeyLogCheckpoint | None:
    return KeyLogCheckpoint.objects.order_by("-size").first()


def key_log_leaves(*, start: int, end: int) -> list[tuple[int, str]]:
    """(index, canonical JSON) of the leaves start ≤ index < end."""
    end = min(end, start + MAX_KEY_LOG_LEAVES_PER_PAGE)
    return list(
        KeyLogLeaf.objects.filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list("index", "data")
    )


def _key_log_store(size: int) -> merkle.MemoryNodeStore:
    # A few entries per authority: rebuilding the tree is cheaper than keeping its nodes.
    store = merkle.MemoryNodeStore()
    hashes = [
        bytes(h)
        for h in KeyLogLeaf.objects.filter(index__lt=size)
        .order_by("index")
        .values_list("leaf_hash", flat=True)
    ]
    merkle.append(store, 0, hashes)
    return store


def key_log_inclusion(*, index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(_key_log_store(size), index, size)


def key_log_consistency(*, old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(_key_log_store(new_size), old_size, new_size)
