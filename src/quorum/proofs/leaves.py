"""The public content of a log leaf, and its RFC 9162 leaf hash.

Pure: the auditor and the offline authority toolkit recompute leaves with this module alone.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from quorum.proofs.merkle import leaf_hash

LEAF_VERSION = "quorum-statement-v1"
#: A statement signed through a coalition partner's link: its code is a line of its own, after
#: the Member State, so that per-partner counts are recounted from the leaves like per-state
#: ones. Without a partner a leaf stays v1, byte for byte as before partners existed.
PARTNER_LEAF_VERSION = "quorum-statement-v2"


@functools.lru_cache(maxsize=64)  # every statement of a second has the same
def format_received_at(moment: datetime) -> str:
    """UTC, whole seconds, ISO 8601 with a Z: one spelling for everyone who recomputes a leaf."""
    if moment.tzinfo is None:
        raise ValueError("received time must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_data(
    *,
    initiative: str,
    member_state: str,
    received_at: str,
    ciphertext_sha256: bytes,
    partner: str = "",
) -> bytes:
    """The versioned leaf encoding: one field per line, every line ending in a newline.

    ``partner`` is the code of the coalition partner the statement was signed through, or ""
    (then the leaf is v1, which has no partner line).
    """
    if len(ciphertext_sha256) != 32:
        raise ValueError("ciphertext digest must be 32 bytes")
    for value in (initiative, member_state, received_at):
        if not value or "\n" in value:
            raise ValueError("leaf fields must be non-empty single lines")
    if any(c in partner for c in "\r\n") or partner != partner.strip():
        raise ValueError("a partner code must be a single line without surrounding spaces")
    lines = (
        (PARTNER_LEAF_VERSION, initiative, member_state, partner)
        if partner
        else (LEAF_VERSION, initiative, member_state)
    )
    return "".join(f"{line}\n" for line in (*lines, received_at, ciphertext_sha256.hex())).encode(
        "utf-8"
    )


def statement_leaf_hash(
    *,
    initiative: str,
    member_state: str,
    received_at: str,
    ciphertext_sha256: bytes,
    partner: str = "",
) -> bytes:
    return leaf_hash(
        leaf_data(
            initiative=initiative,
            member_state=member_state,
            received_at=received_at,
            ciphertext_sha256=ciphertext_sha256,
            partner=partner,
        )
    )
