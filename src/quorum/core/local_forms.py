"""Dates, times and numbers in the reader's language, in the forms of CLDR (through Babel).

Every page, receipt, back-office page and message that shows a date, a time or a number takes
it from here (in templates through the ``local_forms`` tag library), so that all of them read as
the Unicode CLDR writes them for the active language, and none by a hand-written format string
or Django's own per-language formats (which give Bulgarian "Дек. 1, 2026, 11:57 преди обяд" and
Irish "1000000").

Widths, one per kind of place:

- a date in prose and in facts (``<dl>``: "Registered on", "Collection closes at the end of"):
  CLDR's **long** date, the month in words ("1 декември 2026 г.", "1 Nollaig 2026");
- a date in a table, a list or a log, where room is short: CLDR's **medium** date
  ("1.12.2026 г.", "1 Noll 2026");
- a date and time: CLDR's **medium** date and **short** time (hours and minutes), joined by the
  locale's medium date-time pattern ("1.12.2026 г., 11:57"), in the site's time zone
  (``TIME_ZONE``, or the zone a request activated); :func:`local_zone` names that zone as CLDR
  does ("UTC", French "TU");
- a count: CLDR's decimal pattern, grouped ("1 000 000", "1.000.000", "1,000,000");
- an amount of money: the decimal pattern with the currency's own number of decimals (two for
  the euro: "1.234,50"); the currency itself is named by the text around it;
- a share: CLDR's percent pattern ("45 %" in German and French, "45%" in Bulgarian).

Languages: Django's code of each of the 24 official EU languages maps to the CLDR locale of the
Member State where it is spoken, so that CLDR's defaults for the bare language do not apply
where they are another continent's: ``en`` is Irish English (``en_IE``: "1 December 2026",
24-hour clock), not US English, and ``pt`` is European Portuguese (``pt_PT``), not Brazilian.
Irish (``ga_IE``) and Maltese (``mt_MT``) are in CLDR; a test checks that Babel has all 24. A
code outside the 24 falls back to its base language if that is one of them ("de-at" to
``de_DE``), and otherwise to the site's ``LANGUAGE_CODE``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.dates import (
    format_date,
    format_time,
    get_datetime_format,
    get_timezone_name,
)
from babel.numbers import format_decimal, format_percent
from django.conf import settings
from django.utils import timezone, translation

DateWidth = Literal["long", "medium"]

# Django's code of each official EU language → the CLDR locale of a Member State that speaks it.
BABEL_LOCALES: dict[str, str] = {
    "bg": "bg_BG",
    "cs": "cs_CZ",
    "da": "da_DK",
    "de": "de_DE",
    "el": "el_GR",
    "en": "en_IE",
    "es": "es_ES",
    "et": "et_EE",
    "fi": "fi_FI",
    "fr": "fr_FR",
    "ga": "ga_IE",
    "hr": "hr_HR",
    "hu": "hu_HU",
    "it": "it_IT",
    "lt": "lt_LT",
    "lv": "lv_LV",
    "mt": "mt_MT",
    "nl": "nl_NL",
    "pl": "pl_PL",
    "pt": "pt_PT",
    "ro": "ro_RO",
    "sk": "sk_SK",
    "sl": "sl_SI",
    "sv": "sv_SE",
}

Number = int | float | Decimal


@lru_cache(maxsize=64)
def _locale_for(language: str) -> Locale:
    code = language.lower().replace("_", "-")
    identifier = BABEL_LOCALES.get(code) or BABEL_LOCALES.get(code.split("-", 1)[0])
    if identifier is None:
        identifier = BABEL_LOCALES[settings.LANGUAGE_CODE.lower().split("-", 1)[0]]
    return Locale.parse(identifier)


def babel_locale(language: str | None = None) -> Locale:
    """The CLDR locale of ``language`` (a Django code), by default of the active language."""
    return _locale_for(language or translation.get_language() or settings.LANGUAGE_CODE)


def locale_tag(language: str | None = None) -> str:
    """The BCP 47 tag of that locale ("pt-PT"), for the browser's ``Intl`` to format alike."""
    return str(babel_locale(language)).replace("_", "-")


def _in_site_zone(value: datetime.datetime) -> datetime.datetime:
    # An aware time is shown in the site's zone (UTC unless TIME_ZONE or a request says
    # otherwise); a naive one is taken to be in it already, as Django's own filters do.
    return timezone.localtime(value) if timezone.is_aware(value) else value


def local_date(
    value: datetime.date, *, width: DateWidth = "long", language: str | None = None
) -> str:
    """``value`` as CLDR writes a date of that width; a date-time gives its day in the site's zone."""
    if isinstance(value, datetime.datetime):
        value = _in_site_zone(value).date()
    return format_date(value, format=width, locale=babel_locale(language))


def local_datetime(value: datetime.datetime, *, language: str | None = None) -> str:
    """``value`` in the site's zone: CLDR's medium date and short time, joined as CLDR joins them."""
    locale = babel_locale(language)
    local = _in_site_zone(value)
    # CLDR picks the joining pattern ("{1}, {0}", "{1} {0}") by the date's width. Babel's
    # format_datetime joins a date and a time of one width only, so it is done here as Babel
    # does it (the pattern's quotes removed), with the time at its short width.
    pattern = get_datetime_format("medium", locale=locale)
    return (
        str(pattern)
        .replace("'", "")
        .replace("{0}", format_time(local, format="short", tzinfo=local.tzinfo, locale=locale))
        .replace("{1}", format_date(local.date(), format="medium", locale=locale))
    )


def local_zone(value: datetime.datetime, *, language: str | None = None) -> str:
    """The short CLDR name of the zone that :func:`local_datetime` shows ``value`` in ("UTC")."""
    local = _in_site_zone(value)
    zone = local.tzinfo if local.tzinfo is not None else timezone.get_current_timezone()
    return get_timezone_name(
        local.replace(tzinfo=zone), width="short", locale=babel_locale(language)
    )


def local_number(value: Number, *, language: str | None = None) -> str:
    """A count or any number, with the locale's grouping and decimal sign ("1 000 000")."""
    return format_decimal(value, locale=babel_locale(language))


def local_amount(value: Number, *, currency: str = "EUR", language: str | None = None) -> str:
    """An amount of ``currency`` as a number with that currency's decimals ("1.234,50")."""
    locale = babel_locale(language)
    pattern = locale.decimal_formats[None]
    # Given a currency, the decimal pattern takes CLDR's number of decimals for it and adds no
    # symbol: the text around the amount names the currency ("Amount (EUR)").
    return pattern.apply(Decimal(value), locale, currency=currency, currency_digits=True)


def local_percent(points: Number, *, language: str | None = None) -> str:
    """``points`` per cent (45 for 45 %), as the locale writes a share ("45 %", "45%")."""
    return format_percent(Decimal(points) / 100, locale=babel_locale(language))


def as_number(value: object) -> Number | None:
    """``value`` as a number if it is one or a string of one, else None (templates' input)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return None
    if isinstance(value, float | Decimal):
        # NaN and the infinities are no amount anyone should read.
        return value if Decimal(value).is_finite() else None
    return None
