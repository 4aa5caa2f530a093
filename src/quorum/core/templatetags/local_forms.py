"""Template filters that write dates, times and numbers as CLDR does for the active language.

``{% load local_forms %}``, then:

- ``{{ day|local_date }}`` a long date for prose and facts; ``{{ day|local_date:"medium" }}`` in
  tables, lists and logs;
- ``{{ moment|local_datetime }}`` medium date and short time in the site's zone, and
  ``{{ moment|local_zone }}`` that zone's name;
- ``{{ count|local_number }}``, ``{{ amount|local_amount }}`` (euro decimals),
  ``{{ points|local_percent }}`` (45 → "45 %");
- ``{% number_locale %}`` the BCP 47 tag of the locale, for ``Intl.NumberFormat`` in scripts.

``quorum.core.local_forms`` says which CLDR width each takes, and why. Like Django's own
filters they never fail a page: no value gives "", a value of the wrong kind is shown as it is
(a date filter gives "" for it, as Django's ``date`` does).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django import template

from quorum.core import local_forms

register = template.Library()


@register.filter(name="local_date")
def local_date(value: object, width: str = "long") -> str:
    if not isinstance(value, datetime.date):
        return ""
    return local_forms.local_date(value, width="medium" if width == "medium" else "long")


@register.filter(name="local_datetime")
def local_datetime(value: object) -> str:
    if not isinstance(value, datetime.datetime):
        return ""
    return local_forms.local_datetime(value)


@register.filter(name="local_zone")
def local_zone(value: object) -> str:
    if not isinstance(value, datetime.datetime):
        return ""
    return local_forms.local_zone(value)


def _as_local(value: object, form: Callable[[Any], str]) -> object:
    """``form`` of ``value`` when it is a number; nothing for no value; else ``value`` as is."""
    if value is None or value == "":
        return ""
    number = local_forms.as_number(value)
    return value if number is None else form(number)


@register.filter(name="local_number")
def local_number(value: object) -> object:
    return _as_local(value, local_forms.local_number)


@register.filter(name="local_amount")
def local_amount(value: object, currency: str = "EUR") -> object:
    return _as_local(value, lambda number: local_forms.local_amount(number, currency=currency))


@register.filter(name="local_percent")
def local_percent(value: object) -> object:
    return _as_local(value, local_forms.local_percent)


@register.simple_tag(name="number_locale")
def number_locale() -> str:
    return local_forms.locale_tag()
