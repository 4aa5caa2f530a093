"""What the ledger's tests share: leaves written as the intake writes them."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def ledger_rows(write_leaves) -> Callable[..., None]:
    """``count`` leaves of ``member_state`` in bulk (a minimum's worth without the API)."""

    def ledger_rows(initiative, member_state: str, count: int) -> None:
        write_leaves(initiative, [(member_state, "")] * count)

    return ledger_rows
