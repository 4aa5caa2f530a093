"""The date of birth as three fields — day, month, year — in the order of the page's language.

One text field for a date was misread both ways: "17031979" became 3 December 1979, and a hint
in ISO form disagreed with the browser's own date widget. Three numeric fields leave nothing to
guess. Their order is the one the language writes dates in, taken from CLDR's short date
pattern (through Babel): day-month-year for most, year-month-day for Hungarian, Lithuanian and
Swedish. The view joins the three into the ISO date the intake service and the API read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from quorum.core.local_forms import babel_locale

PARTS = ("day", "month", "year")
FIELD = "date_of_birth"

ENTER_DATE = _("Enter your date of birth: the day, the month and the year.")
MISSING = {
    "day": _("Your date of birth must include the day."),
    "month": _("Your date of birth must include the month."),
    "year": _("Your date of birth must include the year."),
}
NOT_A_NUMBER = {
    "day": _("Enter the day as a number from 1 to 31."),
    "month": _("Enter the month as a number from 1 to 12."),
    "year": _("Enter the year as a number of four digits, for example 1979."),
}
SHORT_YEAR = _("Enter the year in full, with four digits, for example 1979 rather than 79.")
NOT_REAL = _("Your date of birth must be a real date: check the day and the month.")

_NUMBER = re.compile(r"[0-9]{1,4}", re.ASCII)
_QUOTED = re.compile(r"'[^']*'")


def part_name(part: str) -> str:
    """``date_of_birth.day`` — the name of one of the three inputs."""
    return f"{FIELD}.{part}"


@lru_cache(maxsize=64)
def _order(locale_name: str, pattern: str) -> tuple[str, ...]:
    bare = _QUOTED.sub("", pattern)
    positions = {part: bare.find(letter) for part, letter in zip(PARTS, "dMy", strict=True)}
    if min(positions.values()) < 0:  # no CLDR locale lacks one, but never fail a page on it
        return PARTS
    return tuple(sorted(PARTS, key=positions.__getitem__))


def date_order(language: str | None = None) -> tuple[str, ...]:
    """("day", "month", "year") or the order ``language`` (default: the active one) writes."""
    locale = babel_locale(language)
    return _order(str(locale), locale.date_formats["short"].pattern)


@dataclass
class JoinedDate:
    """The ISO date (or ""), the reasons it could not be made, and which parts are wrong."""

    iso: str = ""
    errors: list[Promise] = field(default_factory=list)
    wrong: set[str] = field(default_factory=set)


def join_date(day: str, month: str, year: str) -> JoinedDate:
    """Three typed parts → an ISO date, or the precise reasons why not. Never raises."""
    typed = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    joined = JoinedDate()
    missing = [part for part in PARTS if not typed[part]]
    if len(missing) == len(PARTS):
        joined.errors.append(ENTER_DATE)
        joined.wrong.update(PARTS)
        return joined
    for part in missing:
        joined.errors.append(MISSING[part])
        joined.wrong.add(part)
    numbers: dict[str, int] = {}
    for part in PARTS:
        if part in missing:
            continue
        if not _NUMBER.fullmatch(typed[part]):
            joined.errors.append(NOT_A_NUMBER[part])
            joined.wrong.add(part)
            continue
        numbers[part] = int(typed[part])
    if "day" in numbers and not 1 <= numbers["day"] <= 31:
        joined.errors.append(NOT_A_NUMBER["day"])
        joined.wrong.add("day")
    if "month" in numbers and not 1 <= numbers["month"] <= 12:
        joined.errors.append(NOT_A_NUMBER["month"])
        joined.wrong.add("month")
    if "year" in numbers and numbers["year"] < 1:
        joined.errors.append(NOT_A_NUMBER["year"])
        joined.wrong.add("year")
    elif "year" in numbers and len(typed["year"]) < 4:
        # "79" could be 1979 or 2079: say so, never guess the century.
        joined.errors.append(SHORT_YEAR)
        joined.wrong.add("year")
    if joined.errors:
        return joined
    try:
        joined.iso = date(numbers["year"], numbers["month"], numbers["day"]).isoformat()
    except ValueError:
        joined.errors.append(NOT_REAL)
        joined.wrong.update(("day", "month"))
    return joined
