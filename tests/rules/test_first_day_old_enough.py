"""The first day a person too young today may support: the day an age refusal names."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.rules import scheme
from quorum.rules.ages import age_on, birthday, first_day_old_enough, rule_on


@pytest.fixture(scope="module")
def eci():
    return scheme("eci")


def test_a_german_of_fifteen_may_sign_on_the_sixteenth_birthday(eci) -> None:
    rules = eci.age_rules("DE")
    assert first_day_old_enough(rules, date(2011, 5, 12), date(2026, 12, 1)) == date(2027, 5, 12)


def test_an_austrian_of_fifteen_may_sign_on_the_sixteenth_birthday(eci) -> None:
    assert eci.min_age("AT", date(2026, 12, 1)) == 16
    rules = eci.age_rules("AT")
    assert first_day_old_enough(rules, date(2011, 5, 12), date(2026, 12, 1)) == date(2027, 5, 12)


def test_a_lowered_age_brings_the_first_day_forward(eci) -> None:
    # Germany: 18 until 2022, 16 from 1 January 2023. Someone born in June 2006 was 16 and
    # too young in December 2022, and could sign when the new age came in, not at 18.
    rules = eci.age_rules("DE")
    assert first_day_old_enough(rules, date(2006, 6, 1), date(2022, 12, 1)) == date(2023, 1, 1)


def test_someone_already_old_enough_may_sign_today(eci) -> None:
    rules = eci.age_rules("FR")
    assert first_day_old_enough(rules, date(1979, 3, 17), date(2026, 12, 1)) == date(2026, 12, 1)


def test_a_birthday_on_29_february_comes_on_1_march_in_a_common_year() -> None:
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 29), 16) == date(2024, 2, 29)


@given(
    born=st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 12, 1)),
    on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    state=st.sampled_from(["DE", "BE", "AT", "EL", "FR", "EE", "MT"]),
)
def test_the_first_day_is_old_enough_and_the_day_before_is_not(
    eci, born: date, on: date, state: str
) -> None:
    rules = eci.age_rules(state)
    first = first_day_old_enough(rules, born, on)
    assert first >= on
    assert age_on(born, first) >= rule_on(rules, first).age
    if first > on:
        before = date.fromordinal(first.toordinal() - 1)
        assert age_on(born, before) < rule_on(rules, before).age
