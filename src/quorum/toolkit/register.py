"""Match statements against an extract of the population register (``--register CSV``).

The extract is a CSV file, UTF-8 (a byte-order mark is allowed), comma-separated, with a
header line naming at least these columns (in any order; other columns are ignored):

- ``id_number``: the personal identification or document number (Part B Member States);
- ``first_names``, ``family_names``, ``date_of_birth`` (``YYYY-MM-DD``): Part A Member States.

A statement of a Part B Member State is "in the register" when its ID number (as written,
or in the canonical form of the rules) equals a row's ``id_number``; of a Part A Member
State, when its normalised names and date of birth equal a row's (NFKC, case-folded,
spaces collapsed). The register is streamed, never loaded whole: only the statements'
keyed digests are held, so an extract of tens of millions of rows fits a laptop.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

from quorum.toolkit.statement import CheckContext, register_keys_for_row

__all__ = ["COLUMNS", "RegisterError", "match_register"]

COLUMNS = ("id_number", "first_names", "family_names", "date_of_birth")
_MAX_FIELD = 1024


class RegisterError(Exception):
    """The register file cannot be used; the message names the line."""


def match_register(
    path: Path, context: CheckContext, wanted: Collection[bytes]
) -> tuple[set[bytes], int]:
    """Return the digests of ``wanted`` that the register holds, and its number of rows."""
    found: set[bytes] = set()
    rows = 0
    previous_limit = csv.field_size_limit(_MAX_FIELD)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, strict=True)
            columns = reader.fieldnames or []
            missing = [name for name in COLUMNS if name not in columns]
            if missing:
                raise RegisterError(
                    f"{path}: line 1 must name the columns {', '.join(COLUMNS)}"
                    f" (missing: {', '.join(missing)})"
                )
            for row in reader:
                rows += 1
                values = {name: row.get(name) for name in COLUMNS}
                if any(value is None for value in values.values()):
                    raise RegisterError(f"{path}: line {reader.line_num}: too few columns")
                keys, error = register_keys_for_row(
                    context,
                    id_number=values["id_number"] or "",
                    first_names=values["first_names"] or "",
                    family_names=values["family_names"] or "",
                    date_of_birth=values["date_of_birth"] or "",
                )
                if error:
                    raise RegisterError(f"{path}: line {reader.line_num}: {error}")
                found.update(key for key in keys if key in wanted)
    except UnicodeDecodeError as exc:
        raise RegisterError(f"{path}: not UTF-8 text") from exc
    except csv.Error as exc:
        raise RegisterError(f"{path}: not a readable CSV file ({exc})") from exc
    except OSError as exc:
        raise RegisterError(f"cannot read the register {path}: {exc.strerror or exc}") from exc
    finally:
        csv.field_size_limit(previous_limit)
    return found, rows
