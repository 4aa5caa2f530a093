"""Annex I: which minimum-signatories table applies, by the registration date.

Art. 3(1) of Regulation (EU) 2019/788 fixes the thresholds "at the time of registration"
of the initiative, so the table is chosen by the registration date, never by the
collection or signing date.
"""

from __future__ import annotations

from datetime import date

from quorum.rules.dates import as_date
from quorum.rules.errors import OutOfScopeError
from quorum.rules.model import ThresholdTable


def table_on(tables: tuple[ThresholdTable, ...], registered: date) -> ThresholdTable:
    """The table that applies to an initiative registered on ``registered``.

    Raises :class:`OutOfScopeError` for a registration before the first table.
    """
    registered = as_date(registered, "registered")
    for table in tables:
        if table.applies_to(registered):
            return table
    first = tables[0].valid_from.isoformat() if tables else "?"
    raise OutOfScopeError(
        f"initiatives registered on {registered.isoformat()} are out of scope: the scheme's "
        f"rules apply to initiatives registered from {first} (Regulation (EU) 2019/788; "
        "earlier ones ran under Regulation (EU) No 211/2011)"
    )
