"""Lifecycle deadlines with their sources, and the retention rule of Art. 19."""

from __future__ import annotations

from datetime import date

import pytest

from quorum.rules import Scheme
from quorum.rules.loader import parse_scheme


def test_the_registration_answer_is_due_in_2_months_or_4_for_a_partial_registration(eci):
    assert eci.registration_answer_due(date(2024, 12, 31)) == date(2025, 2, 28)
    assert eci.registration_answer_due(date(2024, 12, 31), partial=True) == date(2025, 4, 30)


def test_collection_starts_at_the_latest_6_months_after_registration(eci):
    assert eci.latest_collection_start(date(2024, 8, 31)) == date(2025, 2, 28)
    assert eci.latest_collection_start(date(2023, 8, 29)) == date(2024, 2, 29)


def test_the_start_is_announced_10_working_days_before(eci):
    assert eci.latest_start_announcement(date(2025, 3, 10)) == date(2025, 2, 24)
    # a Sunday start: ten weekdays back from it
    assert eci.latest_start_announcement(date(2025, 3, 9)) == date(2025, 2, 24)


def test_a_start_or_early_end_announced_today_can_be_10_working_days_later_at_the_earliest(eci):
    assert eci.announcement_working_days == 10
    # Monday 24 February 2025: ten weekdays on is Monday 10 March.
    assert eci.earliest_announced_date(date(2025, 2, 24)) == date(2025, 3, 10)
    # Announced on a Saturday: the count starts on the Monday.
    assert eci.earliest_announced_date(date(2025, 2, 22)) == date(2025, 3, 7)


def test_the_earliest_announced_date_follows_the_period_in_the_data(raw_eci):
    raw_eci["deadlines"]["start_announcement"]["working_days"] = 3
    rules = Scheme(parse_scheme(raw_eci))
    assert rules.announcement_working_days == 3
    assert rules.earliest_announced_date(date(2025, 2, 24)) == date(2025, 2, 27)


def test_the_collection_end_is_the_same_day_12_months_later_as_in_the_register(eci):
    # Register, 2024/000007 "Stop Destroying Videogames": 31/07/2024 - 31/07/2025.
    assert eci.collection_end(date(2024, 7, 31)) == date(2025, 7, 31)
    assert eci.collection_end(date(2025, 3, 10)) == date(2026, 3, 10)
    assert eci.collection_end(date(2024, 2, 29)) == date(2025, 2, 28)


def test_verification_submission_and_answer_deadlines(eci):
    assert eci.submission_to_authorities_due(date(2025, 11, 30)) == date(2026, 2, 28)
    assert eci.verification_due(date(2025, 5, 31)) == date(2025, 8, 31)
    assert eci.submission_to_commission_due(date(2025, 11, 30)) == date(2026, 2, 28)
    assert eci.meeting_due(date(2026, 1, 31)) == date(2026, 2, 28)
    assert eci.hearing_due(date(2026, 1, 31)) == date(2026, 4, 30)
    assert eci.communication_due(date(2027, 8, 31)) == date(2028, 2, 29)
    assert eci.authority_copy_end(date(2025, 11, 30)) == date(2026, 2, 28)


def test_retention_ends_one_month_after_submission_when_that_is_earlier(eci):
    start = date(2024, 1, 15)
    assert eci.retention_end(start, submitted=date(2025, 6, 1)) == date(2025, 7, 1)


def test_retention_ends_21_months_after_the_start_when_that_is_earlier(eci):
    start = date(2024, 1, 15)
    assert eci.retention_end(start) == date(2025, 10, 15)
    assert eci.retention_end(start, submitted=date(2025, 10, 1)) == date(2025, 10, 15)
    # the 21 months clamp like any month count
    assert eci.retention_end(date(2024, 5, 31)) == date(2026, 2, 28)


def test_retention_after_a_withdrawal_ends_one_month_after_it(eci):
    start = date(2024, 1, 15)
    assert eci.retention_end(start, withdrawn=date(2024, 3, 31)) == date(2024, 4, 30)
    # a withdrawal on the start day counts as after the start
    assert eci.retention_end(start, withdrawn=start) == date(2024, 2, 15)
    # late in the collection the 21-month cap still comes first
    assert eci.retention_end(start, withdrawn=date(2025, 10, 1)) == date(2025, 10, 15)


def test_a_withdrawal_before_the_start_leaves_nothing_to_keep(eci):
    assert eci.retention_end(date(2024, 5, 1), withdrawn=date(2024, 4, 2)) == date(2024, 4, 2)


def test_a_legal_hold_keeps_the_statements_one_month_past_the_final_decision(eci):
    start = date(2024, 1, 15)
    submitted = date(2025, 6, 1)
    late = eci.retention_end(start, submitted=submitted, legal_hold_until=date(2026, 1, 31))
    assert late == date(2026, 2, 28)
    # a decision that comes early never shortens the ordinary retention
    early = eci.retention_end(start, submitted=submitted, legal_hold_until=date(2025, 1, 1))
    assert early == date(2025, 7, 1)


def test_the_deadline_table_gives_what_is_known(eci):
    table = eci.deadline_table(date(2024, 6, 19), date(2024, 7, 31), None)
    assert table == {
        "latest_collection_start": date(2024, 12, 19),
        "latest_start_announcement": date(2024, 7, 17),
        "collection_end": date(2025, 7, 31),
        "submission_to_authorities_due": date(2025, 10, 31),
        "retention_end": date(2026, 4, 30),
    }


def test_the_deadline_table_uses_the_published_end_and_later_events(eci):
    table = eci.deadline_table(
        date(2020, 1, 8),
        date(2020, 1, 31),
        date(2022, 1, 31),  # extended (COVID-19) end, as published
        date(2022, 9, 30),
        requested=date(2019, 11, 20),
        received=date(2022, 4, 1),
        last_certificate=date(2022, 7, 1),
        published=date(2022, 10, 3),
    )
    assert table["registration_answer_due"] == date(2020, 1, 20)
    assert table["collection_end"] == date(2022, 1, 31)
    assert table["submission_to_authorities_due"] == date(2022, 4, 30)
    assert table["verification_due"] == date(2022, 7, 1)
    assert table["submission_to_commission_due"] == date(2022, 10, 1)
    assert table["authority_copy_end"] == date(2022, 10, 1)
    assert table["meeting_due"] == date(2022, 10, 30)
    assert table["hearing_due"] == date(2022, 12, 30)
    assert table["communication_due"] == date(2023, 4, 3)
    assert table["retention_end"] == date(2021, 10, 31)  # 21 months after the start
    assert eci.deadlines(date(2024, 6, 19)) == {"latest_collection_start": date(2024, 12, 19)}


@pytest.mark.parametrize(
    ("name", "amount", "article"),
    [
        ("registration_answer", 2, "Art. 6(2)"),
        ("registration_answer_partial", 4, "Art. 6(4)"),
        ("collection_start_latest", 6, "Art. 8(1)"),
        ("start_announcement", 10, "Art. 8(1)"),
        ("collection_period", 12, "Art. 8(1)"),
        ("submission_to_authorities", 3, "Art. 12(2)"),
        ("verification", 3, "Art. 12(4)"),
        ("submission_to_commission", 3, "Art. 13"),
        ("meeting", 1, "Art. 15(1)"),
        ("hearing", 3, "Art. 14(2)"),
        ("communication", 6, "Art. 15(2)"),
        ("retention_after_submission", 1, "Art. 19(5)"),
        ("retention_after_start", 21, "Art. 19(5)"),
        ("retention_after_withdrawal", 1, "Art. 19(5)"),
        ("retention_after_legal_decision", 1, "Art. 19(7)"),
        ("authority_copy", 3, "Art. 19(6)"),
    ],
)
def test_every_period_has_its_length_and_article(eci, name, amount, article):
    period = eci.periods()[name]
    assert (period.months or period.working_days) == amount
    assert period.source.citation.startswith(f"Reg. (EU) 2019/788, {article}")
    assert period.source.key == "REG-2019-788"
