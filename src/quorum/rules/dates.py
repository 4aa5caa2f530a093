"""Calendar arithmetic for legal time limits.

- Months: ``add_months`` keeps the day of the month and clamps it to the last day of the
  target month (2024-01-31 + 1 month = 2024-02-29; 2023-01-31 + 1 month = 2023-02-28;
  2024-02-29 + 12 months = 2025-02-28). A limit of "N months after X" is therefore the
  same calendar day N months later, which is how the ECI register shows its dates.
- Working days: Monday to Friday. Public holidays are **not** modelled: they differ per
  Member State and institution, and the Regulation does not say whose apply. A caller
  that needs them must add its own margin.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from quorum.rules.errors import RulesError

_SATURDAY = 5


def as_date(value: object, name: str = "date") -> date:
    """Return ``value`` as a plain :class:`date`; a ``datetime`` is cut to its date.

    Raises :class:`RulesError` for anything else, so that a wrong call fails with a clear
    message instead of a ``TypeError`` deep inside a comparison.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise RulesError(f"{name} must be a datetime.date, not {type(value).__name__}")


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months (may be negative), clamped to the month end."""
    d = as_date(d)
    if not isinstance(months, int) or isinstance(months, bool):
        raise RulesError("months must be an int")
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise RulesError("the resulting date is out of range")
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def is_working_day(d: date) -> bool:
    """Monday to Friday (no public holidays)."""
    return as_date(d).weekday() < _SATURDAY


def add_working_days(d: date, days: int) -> date:
    """The date ``days`` working days after ``d`` (``d`` itself is not counted).

    Negative ``days`` count backwards. ``add_working_days(friday, 1)`` is the next Monday.
    """
    d = as_date(d)
    if not isinstance(days, int) or isinstance(days, bool):
        raise RulesError("days must be an int")
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    try:
        while remaining:
            d += step
            if d.weekday() < _SATURDAY:
                remaining -= 1
    except OverflowError as exc:
        raise RulesError("the resulting date is out of range") from exc
    return d


def subtract_working_days(d: date, days: int) -> date:
    """The date ``days`` working days before ``d`` (``d`` itself is not counted).

    ``subtract_working_days(monday, 1)`` is the previous Friday.
    """
    if not isinstance(days, int) or isinstance(days, bool):
        raise RulesError("days must be an int")
    return add_working_days(d, -days)
