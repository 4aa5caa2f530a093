"""Month and working-day arithmetic."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.rules import RulesError, add_months, add_working_days, subtract_working_days


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2023, 12, 15), 1, date(2024, 1, 15)),
        (date(2025, 3, 10), 12, date(2026, 3, 10)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 5, 31), 21, date(2026, 2, 28)),
        (date(2024, 5, 17), 0, date(2024, 5, 17)),
    ],
)
def test_adding_months_keeps_the_day_or_clamps_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(-60, 60))
def test_adding_months_lands_in_the_right_month_on_the_nearest_valid_day(start, months):
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(start.day, last)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday -> Monday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Saturday -> Monday
        (date(2025, 3, 10), 5, date(2025, 3, 17)),  # one full week
        (date(2025, 3, 10), 10, date(2025, 3, 24)),
        (date(2025, 3, 10), 0, date(2025, 3, 10)),
    ],
)
def test_adding_working_days_skips_weekends(start, days, expected):
    assert add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 3, 10), 1, date(2025, 3, 7)),  # Monday -> Friday
        (date(2025, 3, 9), 1, date(2025, 3, 7)),  # Sunday -> Friday
        (date(2025, 3, 10), 10, date(2025, 2, 24)),
        (date(2025, 1, 2), 3, date(2024, 12, 30)),  # across the year end (no holidays)
    ],
)
def test_subtracting_working_days_skips_weekends(start, days, expected):
    assert subtract_working_days(start, days) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 40))
def test_working_days_there_and_back_cover_only_weekdays(start, days):
    later = add_working_days(start, days)
    span = [start + timedelta(n) for n in range(1, (later - start).days + 1)]
    assert sum(d.weekday() < 5 for d in span) == days
    if start.weekday() < 5:
        assert subtract_working_days(later, days) == start


def test_wrong_arguments_are_rules_errors():
    with pytest.raises(RulesError):
        add_months("2024-01-31", 1)  # type: ignore[arg-type]
    with pytest.raises(RulesError):
        add_months(date(2024, 1, 31), 1.5)  # type: ignore[arg-type]
    with pytest.raises(RulesError):
        add_months(date(9999, 12, 1), 1)
    with pytest.raises(RulesError):
        add_working_days(date(9999, 12, 31), 1)
