"""The fields a signatory gives come from the scheme's data, for the platform and the toolkit alike.

The platform (the intake's validation and the form) and the authority's offline toolkit must
ask for exactly the same fields of a national of each Member State: a field the platform did
not ask for is a statement the toolkit refuses, a field it asked for and the toolkit ignores is
personal data collected for nothing.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from quorum.proofs.crypto import generate_sealing_keys, seal
from quorum.rules import Scheme, scheme
from quorum.rules.loader import FIELD_NAMES, data_path, parse_scheme
from quorum.signing.content import StatementContent, statement_plaintext
from quorum.signing.fields import ALL_FIELDS, fields_for
from quorum.signing.validation import REQUIRED, validate_fields
from quorum.toolkit.statement import MISSING_FIELD, CheckContext, Checker

ECI = scheme("eci")
TODAY = date(2025, 6, 30)


def platform_requires(rules: Scheme, member_state: str) -> set[str]:
    """The fields the intake refuses to go without, read from its answer to an empty statement."""
    checked = validate_fields(rules, member_state, {}, today=TODAY)
    return {name for name, reasons in checked.errors.items() if REQUIRED in reasons}


def toolkit_requires(member_state: str) -> set[str]:
    """The fields the toolkit refuses to go without: each one left out of an otherwise full
    statement gives "missing required field" naming it."""
    keys = generate_sealing_keys()
    checker = Checker(
        CheckContext(
            scheme="eci",
            member_state=member_state,
            slug="clean-air",
            registration_number="ECI(2025)000007",
            sealing_private_keys={1: keys.private_key},
            person_secret=b"s" * 32,
        )
    )
    required = set()
    for left_out in sorted(ALL_FIELDS):
        fields = {name: "x" for name in ALL_FIELDS if name != left_out}
        content = StatementContent(
            scheme="eci",
            initiative_slug="clean-air",
            registration_number="ECI(2025)000007",
            nationality=member_state,
            signed_on=TODAY.isoformat(),
            received_at="2025-06-30T12:00:00Z",
            language="en",
            fields=fields,
        )
        ciphertext = seal(keys.public_key, statement_plaintext(content))
        verdict = checker.check(0, content.received_at, ciphertext)
        if verdict.reason == MISSING_FIELD:
            assert verdict.detail == left_out
            required.add(left_out)
    return required


def test_the_scheme_has_27_member_states() -> None:
    assert len(ECI.member_state_codes()) == 27


@pytest.mark.parametrize("member_state", ECI.member_state_codes())
def test_the_platform_and_the_toolkit_require_exactly_the_same_fields(member_state: str) -> None:
    platform = platform_requires(ECI, member_state)
    assert platform == set(fields_for(ECI, member_state))
    assert platform == toolkit_requires(member_state)
    assert platform == set(ECI.required_fields(member_state))


def test_the_platform_can_present_every_field_a_scheme_may_name_and_no_other() -> None:
    assert ALL_FIELDS == FIELD_NAMES


NAMES = ("first_names", "family_names")
RESIDENCE = tuple(f"residence.{part}" for part in ("street", "postal_code", "city", "country"))


def test_the_form_keeps_its_order_whatever_order_the_data_lists_the_fields_in() -> None:
    # The data follows the columns of Annex III (the date of birth last); the form asks it
    # right after the names, as it always has.
    assert ECI.required_fields("FR") == (*NAMES, *RESIDENCE, "date_of_birth")
    assert fields_for(ECI, "FR") == (*NAMES, "date_of_birth", *RESIDENCE)
    assert fields_for(ECI, "PL") == (*NAMES, "id_type", "id_number")


def _eci_with(part: str, fields: list[str]) -> Scheme:
    raw: dict[str, Any] = json.loads(data_path("eci").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["annex_iii"]["parts"][part]["fields"] = fields
    return Scheme(parse_scheme(raw, origin="test.json"))


def test_a_scheme_whose_data_asks_for_other_fields_changes_what_the_intake_requires() -> None:
    # Part A without the street: a French signatory no longer gives one, and may not.
    rules = _eci_with("A", [*NAMES, "residence.postal_code", "residence.city", "date_of_birth"])
    expected = (*NAMES, "date_of_birth", "residence.postal_code", "residence.city")
    assert platform_requires(rules, "FR") == set(expected)
    assert fields_for(rules, "FR") == expected
    checked = validate_fields(
        rules,
        "FR",
        {
            "first_names": "Anne",
            "family_names": "Martin",
            "date_of_birth": "1990-04-23",
            "residence.postal_code": "75001",
            "residence.city": "Paris",
            "residence.street": "1 rue de Rivoli",
        },
        today=TODAY,
    )
    assert set(checked.errors) == {"residence.street"}


def test_a_part_b_that_also_asks_for_the_date_of_birth_makes_the_intake_ask_for_it() -> None:
    fields = [*NAMES, "date_of_birth", "id_type", "id_number"]
    rules = _eci_with("B", fields)
    assert platform_requires(rules, "PL") == set(fields)
