"""Minimum ages by Member State and signing date, and the age check."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.pl import pesel

from quorum.rules import OutOfScopeError
from quorum.rules.ages import BIRTH_IN_FUTURE, TOO_YOUNG, age_on


@pytest.mark.parametrize(
    ("code", "on", "age"),
    [
        ("DE", date(2022, 12, 31), 18),
        ("DE", date(2023, 1, 1), 16),
        ("BE", date(2023, 4, 30), 18),
        ("BE", date(2023, 5, 1), 16),
        ("EL", date(2025, 1, 1), 17),
        ("AT", date(2020, 6, 1), 16),
        ("EE", date(2021, 6, 1), 16),
        ("MT", date(2024, 6, 1), 16),
        ("FR", date(2025, 1, 1), 18),
        ("SE", date(2025, 1, 1), 18),
    ],
)
def test_the_minimum_age_depends_on_the_member_state_and_the_date(eci, code, on, age):
    assert eci.min_age(code, on=on) == age


def test_every_other_member_state_is_18(eci):
    younger = {"BE", "DE", "EE", "EL", "MT", "AT"}
    for code in eci.member_state_codes():
        if code not in younger:
            assert eci.min_age(code, on=date(2025, 1, 1)) == 18, code


def test_member_state_rules_carry_the_age_on_the_registration_date(eci):
    assert eci.member_state("DE", registered=date(2022, 12, 31)).min_age == 18
    assert eci.member_state("DE", registered=date(2023, 1, 1)).min_age == 16


def test_an_age_before_the_scheme_applies_is_out_of_scope(eci):
    with pytest.raises(OutOfScopeError):
        eci.min_age("DE", on=date(2019, 12, 31))


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (date(2007, 5, 1), date(2023, 4, 30), 15),
        (date(2007, 5, 1), date(2023, 5, 1), 16),
        (date(2008, 2, 29), date(2024, 2, 28), 15),
        (date(2008, 2, 29), date(2024, 2, 29), 16),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2007, 2, 28), date(2025, 2, 28), 18),
    ],
)
def test_age_counts_completed_years(birth, on, years):
    assert age_on(birth, on) == years


def test_a_leap_day_birthday_is_reached_on_1_march_in_common_years():
    assert age_on(date(2004, 2, 29), date(2022, 2, 28)) == 17
    assert age_on(date(2004, 2, 29), date(2022, 3, 1)) == 18


def test_a_part_a_signatory_turning_16_on_the_signing_day_is_old_enough_in_germany(eci):
    on = date(2024, 3, 10)
    assert eci.check_age("DE", on=on, date_of_birth=date(2008, 3, 10)) is None
    assert eci.check_age("DE", on=on, date_of_birth=date(2008, 3, 11)) == TOO_YOUNG


def test_the_same_german_signatory_was_too_young_before_2023(eci):
    born = date(2005, 6, 1)
    assert eci.check_age("DE", on=date(2022, 12, 31), date_of_birth=born) == TOO_YOUNG
    assert eci.check_age("DE", on=date(2023, 1, 1), date_of_birth=born) is None


def test_a_birth_date_in_the_future_is_refused(eci):
    assert eci.check_age("FR", on=date(2025, 1, 1), date_of_birth=date(2025, 1, 2)) == (
        BIRTH_IN_FUTURE
    )


def test_the_age_is_read_from_a_pesel(eci):
    on = date(2025, 1, 1)
    # A PESEL for someone born on 2010-05-14 (month + 20 for the 2000s), with its real
    # check digit computed by python-stdnum.
    body = "1025140135"
    minor = body + pesel.calc_check_digit(body)
    assert eci.check_id("PL", "pesel", minor).birth_date == date(2010, 5, 14)
    assert eci.check_age("PL", on=on, id_type="pesel", id_number=minor) == TOO_YOUNG
    assert eci.check_age("PL", on=on, id_type="pesel", id_number="44051401359") is None


def test_the_age_is_not_checkable_without_a_birth_date(eci):
    on = date(2025, 1, 1)
    assert eci.check_age("FR", on=on) is None
    assert eci.check_age("IT", on=on, id_type="passport", id_number="YA1234567") is None
    # A Latvian personal code issued from July 2017 (starts with 32) has no birth date.
    assert eci.check_age("LV", on=on, id_type="personas_kods", id_number="328673-00679") is None
    # An invalid number gives no verdict on the age: check_id reports it.
    assert eci.check_age("PL", on=on, id_type="pesel", id_number="44051401358") is None


@pytest.mark.parametrize(
    ("code", "id_type", "checkable"),
    [
        ("DE", None, True),
        ("FR", "passport", True),
        ("PL", "pesel", True),
        ("SE", "personnummer", True),
        ("BE", "national_register_number", True),
        ("ES", "dni", False),
        ("IT", "passport", False),
        ("HR", "oib", False),
        ("PL", None, False),
        ("PL", "no_such_type", False),
    ],
)
def test_age_checkable_is_true_for_part_a_and_numbers_with_a_birth_date(
    eci, code, id_type, checkable
):
    assert eci.age_checkable(code, id_type) is checkable
