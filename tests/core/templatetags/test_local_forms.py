"""The templates' dates, times and numbers are CLDR's in all 24 languages (Babel the oracle)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from babel.numbers import format_decimal, format_percent
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

import quorum
from quorum.core.local_forms import BABEL_LOCALES
from quorum.rules import scheme

LANGUAGES = [code for code, _name in settings.LANGUAGES]
DAY = datetime.date(2026, 12, 1)
MOMENT = datetime.datetime(2026, 12, 1, 11, 57, 30, tzinfo=datetime.UTC)


def render(source: str, language: str, **context: object) -> str:
    with translation.override(language):
        return Template("{% load local_forms %}" + source).render(Context(context))


def oracle_datetime(moment: datetime.datetime, locale: str) -> str:
    joined = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    time = format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale)
    return joined.replace("{0}", time).replace("{1}", format_date(moment.date(), "medium", locale))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_filters_write_what_babel_writes_for_the_language(language: str) -> None:
    locale = BABEL_LOCALES[language]
    shown = render(
        "{{ day|local_date }}|{{ day|local_date:'medium' }}|{{ moment|local_datetime }}"
        "|{{ moment|local_zone }}|{{ count|local_number }}|{{ amount|local_amount }}"
        "|{{ points|local_percent }}|{% number_locale %}",
        language,
        day=DAY,
        moment=MOMENT,
        count=1000000,
        amount=Decimal("2500"),
        points=45,
    )
    assert shown.split("|") == [
        format_date(DAY, "long", locale),
        format_date(DAY, "medium", locale),
        oracle_datetime(MOMENT, locale),
        get_timezone_name(MOMENT, width="short", locale=locale),  # "UTC", French "TU"
        format_decimal(1000000, locale=locale),
        format_decimal(Decimal("2500.00"), format="#,##0.00", locale=locale),
        format_percent(Decimal("0.45"), locale=locale),
        locale.replace("_", "-"),
    ]


def test_a_missing_value_shows_nothing_and_a_wrong_one_is_not_mistaken_for_a_date() -> None:
    shown = render(
        "[{{ none|local_date }}][{{ none|local_datetime }}][{{ none|local_number }}]"
        "[{{ none|local_amount }}][{{ none|local_percent }}][{{ text|local_date }}]"
        "[{{ day|local_datetime }}][{{ text|local_number }}][{{ none|local_date|default:'—' }}]",
        "de",
        none=None,
        text="soon",
        day=DAY,
    )
    assert shown == "[][][][][][][][soon][—]"


def test_a_date_time_given_to_the_date_filter_shows_its_day() -> None:
    assert render("{{ moment|local_date }}", "bg", moment=MOMENT) == format_date(
        DAY, "long", "bg_BG"
    )


@pytest.mark.parametrize("language", ["bg", "ga"])
def test_the_initiative_page_shows_cldrs_dates_and_numbers(
    client, collecting_initiative, language: str
) -> None:
    locale = BABEL_LOCALES[language]
    html = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}"' in html
    needed = scheme("eci").success_rule.min_total
    assert format_decimal(needed, locale=locale) in html  # "1 000 000", "1,000,000"
    text = re.sub(r"<[^>]*>", " ", html)  # what is read, not the bars' machine values
    assert str(needed) not in text
    registered = format_date(collecting_initiative.registration_date, "long", locale)
    assert re.search(rf"<dd[^>]*>\s*{re.escape(registered)}\s*</dd>", html)
    start = format_date(collecting_initiative.collection_start, "long", locale)
    end = format_date(collecting_initiative.collection_end, "long", locale)
    assert f"{start} – {end}" in html
    assert f'data-locale="{locale.replace("_", "-")}"' in html
    if language == "bg":  # Django's own Bulgarian forms were "Дек. 1, 2026" and "Януари"
        assert "януари" in registered and "Януари" not in html


def test_no_template_writes_a_date_or_number_with_djangos_own_formats() -> None:
    """Django's ``date``, ``humanize`` and ``floatformat`` are not CLDR's (Bulgarian "Дек. 1,
    2026", Irish "1000000"): a page uses the local_forms filters. ``date:"c"`` (ISO 8601, for a
    ``datetime`` attribute machines read) is the one use of ``date`` left."""
    templates = Path(quorum.__file__).parent
    offending = []
    for path in sorted(templates.rglob("*.html")) + sorted(templates.rglob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\|\s*date(?!:\s*['\"]c['\"])|intcomma|floatformat|\bhumanize\b", line):
                offending.append(f"{path.relative_to(templates)}:{number}")
    assert offending == []
