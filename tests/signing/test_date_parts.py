"""The date of birth in three parts: their order per language, and joining them."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.local_forms import babel_locale
from quorum.signing.date_parts import (
    ENTER_DATE,
    MISSING,
    NOT_A_NUMBER,
    NOT_REAL,
    SHORT_YEAR,
    date_order,
    join_date,
)

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def test_all_24_languages_are_checked() -> None:
    assert len(LANGUAGES) == 24


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_order_of_the_parts_is_the_order_the_language_writes_a_date(language: str) -> None:
    # Independently of the pattern's letters: where does CLDR put 17, 3 and 1979 in a date?
    written = format_date(date(1979, 11, 27), format="short", locale=babel_locale(language))
    positions = {
        "day": written.find("27"),
        "month": written.find("11"),
        "year": max(written.find("1979"), written.find("79")),
    }
    assert min(positions.values()) >= 0, written
    assert date_order(language) == tuple(sorted(positions, key=positions.__getitem__))


@pytest.mark.parametrize("language", ["hu", "lt", "sv"])
def test_hungarian_lithuanian_and_swedish_put_the_year_first(language: str) -> None:
    assert date_order(language) == ("year", "month", "day")


def test_the_active_language_is_the_default() -> None:
    with translation.override("hu"):
        assert date_order() == ("year", "month", "day")
    with translation.override("fr"):
        assert date_order() == ("day", "month", "year")


def test_three_parts_make_an_iso_date() -> None:
    joined = join_date("17", "3", "1979")
    assert (joined.iso, joined.errors, joined.wrong) == ("1979-03-17", [], set())
    assert join_date(" 07 ", "03", "1979").iso == "1979-03-07"


@pytest.mark.parametrize(
    ("parts", "reasons", "wrong"),
    [
        (("", "", ""), [ENTER_DATE], {"day", "month", "year"}),
        (("17", "", "1979"), [MISSING["month"]], {"month"}),
        (("", "", "1979"), [MISSING["day"], MISSING["month"]], {"day", "month"}),
        (("31", "2", "1979"), [NOT_REAL], {"day", "month"}),
        (("29", "2", "1979"), [NOT_REAL], {"day", "month"}),
        (("32", "3", "1979"), [NOT_A_NUMBER["day"]], {"day"}),
        (("0", "3", "1979"), [NOT_A_NUMBER["day"]], {"day"}),
        (("17", "13", "1979"), [NOT_A_NUMBER["month"]], {"month"}),
        (("17", "3", "79"), [SHORT_YEAR], {"year"}),
        (("17", "3", "0"), [NOT_A_NUMBER["year"]], {"year"}),
        (("17031979", "", ""), [MISSING["month"], MISSING["year"], NOT_A_NUMBER["day"]], None),
        (("seventeen", "3", "1979"), [NOT_A_NUMBER["day"]], {"day"}),
        (("１７", "3", "1979"), [NOT_A_NUMBER["day"]], {"day"}),  # full-width digits
        (("17", "March", "1979"), [NOT_A_NUMBER["month"]], {"month"}),
    ],
    ids=[
        "nothing",
        "no month",
        "only the year",
        "31 February",
        "29 February of a common year",
        "day 32",
        "day 0",
        "month 13",
        "two-digit year",
        "year 0",
        "all in the day",
        "a word",
        "full-width digits",
        "a month name",
    ],
)
def test_a_wrong_date_gets_precise_reasons_and_the_parts_to_fix(
    parts: tuple[str, str, str], reasons: list, wrong: set[str] | None
) -> None:
    joined = join_date(*parts)
    assert joined.iso == ""
    assert joined.errors == reasons
    if wrong is not None:
        assert joined.wrong == wrong


def test_29_february_of_a_leap_year_is_real() -> None:
    assert join_date("29", "2", "1980").iso == "1980-02-29"


@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
def test_any_three_parts_give_a_date_or_reasons_never_an_exception(
    day: str, month: str, year: str
) -> None:
    joined = join_date(day, month, year)
    assert bool(joined.iso) != bool(joined.errors)
    if joined.iso:
        assert date.fromisoformat(joined.iso).year >= 1000
