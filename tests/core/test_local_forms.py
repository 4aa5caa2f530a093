"""Dates, times and numbers in the 24 languages are CLDR's, with Babel's data as the oracle."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from babel import Locale, localedata
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal, format_percent, parse_decimal
from django.conf import settings
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from quorum.core import local_forms
from quorum.core.local_forms import BABEL_LOCALES

LANGUAGES = [code for code, _name in settings.LANGUAGES]
DAY = datetime.date(2026, 12, 1)
MOMENT = datetime.datetime(2026, 12, 1, 11, 57, 30, tzinfo=datetime.UTC)


def oracle_datetime(moment: datetime.datetime, locale: str) -> str:
    """CLDR's medium date and short time, joined by the locale's medium date-time pattern."""
    joined = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    time = format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale)
    return joined.replace("{0}", time).replace("{1}", format_date(moment.date(), "medium", locale))


def test_every_language_of_the_site_has_a_cldr_locale_of_its_own() -> None:
    assert len(LANGUAGES) == 24
    assert sorted(BABEL_LOCALES) == sorted(LANGUAGES)
    for code, identifier in BABEL_LOCALES.items():
        assert localedata.exists(identifier), identifier
        assert Locale.parse(identifier).language == code


def test_irish_and_maltese_are_in_babels_data_and_need_no_fallback() -> None:
    assert str(local_forms.babel_locale("ga")) == "ga_IE"
    assert str(local_forms.babel_locale("mt")) == "mt_MT"
    assert local_forms.local_date(DAY, language="ga") == format_date(DAY, "long", locale="ga")
    assert local_forms.local_date(DAY, language="mt") == format_date(DAY, "long", locale="mt")


def test_english_and_portuguese_follow_the_member_states_that_speak_them() -> None:
    assert local_forms.local_date(DAY, language="en") == "1 December 2026"
    assert local_forms.local_datetime(MOMENT, language="en") == "1 Dec 2026, 11:57"
    assert str(local_forms.babel_locale("pt")) == "pt_PT"
    assert local_forms.locale_tag("pt") == "pt-PT"


def test_a_code_outside_the_24_falls_back_to_its_base_language_then_to_the_sites() -> None:
    assert str(local_forms.babel_locale("de-at")) == "de_DE"
    assert str(local_forms.babel_locale("pt_BR")) == "pt_PT"
    assert str(local_forms.babel_locale("xx")) == BABEL_LOCALES[settings.LANGUAGE_CODE]


def test_with_no_active_language_the_sites_language_is_used() -> None:
    with translation.override(None):
        assert local_forms.babel_locale() == local_forms.babel_locale(settings.LANGUAGE_CODE)


def test_the_active_language_is_the_default() -> None:
    with translation.override("bg"):
        assert local_forms.local_number(1000000) == format_decimal(1000000, locale="bg_BG")


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_times_and_numbers_are_babels_for_the_language(language: str) -> None:
    locale = BABEL_LOCALES[language]
    assert local_forms.local_date(DAY, language=language) == format_date(DAY, "long", locale)
    assert local_forms.local_date(DAY, width="medium", language=language) == format_date(
        DAY, "medium", locale
    )
    assert local_forms.local_datetime(MOMENT, language=language) == oracle_datetime(MOMENT, locale)
    assert local_forms.local_number(1000000, language=language) == format_decimal(
        1000000, locale=locale
    )
    assert local_forms.local_percent(45, language=language) == format_percent(
        Decimal("0.45"), locale=locale
    )


def test_bulgarian_and_romanian_months_are_written_as_cldr_writes_them() -> None:
    bulgarian = local_forms.local_date(DAY, language="bg")
    romanian = local_forms.local_date(DAY, language="ro")
    assert Locale.parse("bg_BG").months["format"]["wide"][12] == "декември"
    assert "декември" in bulgarian and "Дек" not in bulgarian
    assert Locale.parse("ro_RO").months["format"]["wide"][12] == "decembrie"
    assert "decembrie" in romanian and "Decembrie" not in romanian
    assert "преди обяд" not in local_forms.local_datetime(MOMENT, language="bg")


def test_estonian_time_is_on_the_24_hour_clock() -> None:
    assert local_forms.local_datetime(MOMENT, language="et") == "1. dets 2026 11:57"


def test_irish_groups_the_thousands() -> None:
    assert local_forms.local_number(1000000, language="ga") == "1,000,000"


def test_a_date_time_is_shown_in_the_sites_time_zone() -> None:
    assert "11:57" in local_forms.local_datetime(MOMENT, language="de")
    assert local_forms.local_zone(MOMENT, language="de") == "UTC"
    with timezone.override(zoneinfo.ZoneInfo("Europe/Sofia")):
        assert "13:57" in local_forms.local_datetime(MOMENT, language="de")
        late = datetime.datetime(2026, 12, 1, 23, 30, tzinfo=datetime.UTC)
        assert local_forms.local_date(late, language="de") == "2. Dezember 2026"


def test_an_amount_has_the_currencys_decimals_in_the_languages_signs() -> None:
    assert local_forms.local_amount(Decimal("2500"), language="de") == "2.500,00"
    assert local_forms.local_amount(Decimal("1234.5"), language="en") == "1,234.50"
    assert local_forms.local_amount(Decimal("1234.5"), language="bg") == format_decimal(
        Decimal("1234.50"), format="#,##0.00", locale="bg_BG"
    )


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (7, 7),
        ("12", Decimal(12)),
        (" 2.5 ", Decimal("2.5")),
        (True, None),
        ("NaN", None),
        (float("inf"), None),
        ("twelve", None),
        (None, None),
        (DAY, None),
    ],
)
def test_only_finite_numbers_count_as_numbers(value: object, number: object) -> None:
    assert local_forms.as_number(value) == number


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(LANGUAGES))
def test_every_integer_reads_back_as_itself_and_is_grouped_as_cldr_groups(
    number: int, language: str
) -> None:
    locale = BABEL_LOCALES[language]
    text = local_forms.local_number(number, language=language)
    assert text == format_decimal(number, locale=locale)
    assert parse_decimal(text, locale=locale, strict=True) == number
    assert "".join(c for c in text if c.isdigit()) == str(abs(number))


@given(
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
    st.sampled_from(LANGUAGES),
)
def test_every_amount_reads_back_as_itself_with_two_decimals(
    amount: Decimal, language: str
) -> None:
    locale = BABEL_LOCALES[language]
    text = local_forms.local_amount(amount, language=language)
    assert parse_decimal(text, locale=locale) == amount
    decimal_sign = Locale.parse(locale).number_symbols["latn"]["decimal"]
    assert len(text.rsplit(decimal_sign, 1)[1]) == 2


@given(
    st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9999, 12, 31)),
    st.sampled_from(LANGUAGES),
)
def test_every_long_date_names_its_year_and_cldrs_month(day: datetime.date, language: str) -> None:
    locale = Locale.parse(BABEL_LOCALES[language])
    text = local_forms.local_date(day, language=language)
    assert text == format_date(day, "long", locale=locale)
    assert str(day.year) in text
    assert locale.months["format"]["wide"][day.month] in text


@given(
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2200, 12, 31)),
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2200, 12, 31)),
    st.sampled_from(LANGUAGES),
    st.sampled_from(["long", "medium"]),
)
def test_two_different_days_never_read_the_same(
    one: datetime.date, other: datetime.date, language: str, width: local_forms.DateWidth
) -> None:
    same = local_forms.local_date(one, width=width, language=language) == local_forms.local_date(
        other, width=width, language=language
    )
    assert same == (one == other)


@given(
    st.datetimes(
        min_value=datetime.datetime(1970, 1, 1),
        max_value=datetime.datetime(2200, 1, 1),
        timezones=st.just(datetime.UTC),
    ),
    st.sampled_from(LANGUAGES),
)
def test_every_date_time_is_the_oracles(moment: datetime.datetime, language: str) -> None:
    assert local_forms.local_datetime(moment, language=language) == oracle_datetime(
        moment, BABEL_LOCALES[language]
    )
