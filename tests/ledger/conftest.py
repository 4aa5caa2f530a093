"""What the ledger's tests share: leaves written as the intake writes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from quorum.ledger.models import Statement
from quorum.proofs.leaves import format_received_at, statement_leaf_hash


def _ledger_rows(initiative, member_state: str, count: int) -> None:
    """``count`` leaves of ``member_state`` in bulk (a minimum's worth without the API); each
    call's digests differ from every earlier call's, so any number of calls may be made."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = Statement.objects.count()
    rows = []
    for n in range(first, first + count):
        digest = n.to_bytes(16, "big") + member_state.encode().ljust(16, b"-")
        rows.append(
            Statement(
                initiative=initiative,
                member_state=member_state,
                ciphertext=b"sealed",
                ciphertext_sha256=digest,
                leaf_hash=statement_leaf_hash(
                    initiative=initiative.slug,
                    member_state=member_state,
                    received_at=format_received_at(now),
                    ciphertext_sha256=digest,
                ),
                received_at=now,
            )
        )
    Statement.objects.bulk_create(rows, batch_size=1000)


@pytest.fixture
def ledger_rows() -> Callable[..., None]:
    return _ledger_rows
