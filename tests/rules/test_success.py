"""Art. 3(1): 1,000,000 statements and 7 Member States at their threshold."""

from __future__ import annotations

from datetime import date

import pytest

from quorum.rules import RulesError, UnknownMemberStateError
from quorum.rules.success import TOO_FEW_MEMBER_STATES, TOTAL_TOO_LOW

REGISTERED = date(2025, 1, 1)  # 720-seat table
SEVEN = ("BE", "BG", "CZ", "DK", "DE", "EE", "IE")


def _counts(eci, states: tuple[str, ...], total: int) -> dict[str, int]:
    """Exactly the threshold in each of ``states``, the rest of ``total`` on the first one,
    nothing elsewhere."""
    table = eci.threshold_table(REGISTERED)
    counts = {code: table.thresholds[code] for code in states}
    rest = total - sum(counts.values())
    assert rest >= 0
    counts[states[0]] += rest
    return counts


def test_one_million_with_seven_states_at_their_threshold_is_successful(eci):
    verdict = eci.success(_counts(eci, SEVEN, 1_000_000), REGISTERED)
    assert verdict.successful
    assert verdict.total == 1_000_000
    assert verdict.states_reached == SEVEN
    assert verdict.reasons == ()


def test_999999_with_seven_states_over_is_not_successful(eci):
    verdict = eci.success(_counts(eci, SEVEN, 999_999), REGISTERED)
    assert not verdict.successful
    assert len(verdict.states_reached) == 7
    assert verdict.reasons == (TOTAL_TOO_LOW,)


def test_one_million_with_six_states_over_is_not_successful(eci):
    verdict = eci.success(_counts(eci, SEVEN[:6], 1_000_000), REGISTERED)
    assert not verdict.successful
    assert verdict.total == 1_000_000
    assert len(verdict.states_reached) == 6
    assert verdict.reasons == (TOO_FEW_MEMBER_STATES,)


def test_a_state_exactly_at_its_threshold_counts_and_one_below_does_not(eci):
    verdict = eci.success({"DE": 69_120, "FR": 58_319}, REGISTERED)
    assert verdict.by_member_state["DE"] == (69_120, 69_120, True)
    assert verdict.by_member_state["FR"] == (58_319, 58_320, False)
    assert verdict.by_member_state["MT"] == (0, 4_320, False)
    assert len(verdict.by_member_state) == 27
    assert verdict.reasons == (TOTAL_TOO_LOW, TOO_FEW_MEMBER_STATES)


def test_the_table_of_the_registration_date_applies(eci):
    counts = {"DE": 67_680}
    assert eci.success(counts, date(2024, 7, 15)).states_reached == ("DE",)
    assert eci.success(counts, date(2024, 7, 16)).states_reached == ()


def test_unknown_codes_and_bad_counts_are_rules_errors(eci):
    with pytest.raises(UnknownMemberStateError):
        eci.success({"DE": 1, "XX": 5}, REGISTERED)
    with pytest.raises(UnknownMemberStateError):
        eci.success({"UK": 60_000}, date(2020, 1, 15))
    with pytest.raises(RulesError):
        eci.success({"DE": -1}, REGISTERED)
    with pytest.raises(RulesError):
        eci.success({"DE": 1.5}, REGISTERED)  # type: ignore[dict-item]


def test_the_success_rule_cites_article_3(eci):
    rule = eci.success_rule
    assert (rule.min_total, rule.min_member_states) == (1_000_000, 7)
    assert rule.source.citation == "Reg. (EU) 2019/788, Art. 3(1)"
    group = eci.organiser_group
    assert (group.min_members, group.min_member_states_of_residence) == (7, 7)
    assert group.source.citation == "Reg. (EU) 2019/788, Art. 5(1)"
