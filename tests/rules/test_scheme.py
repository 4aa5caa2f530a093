"""The public API of a scheme, as other rooms call it."""

from __future__ import annotations

import json
from datetime import date

import pytest

from quorum.rules import (
    N_,
    IdCheck,
    MemberStateRules,
    OutOfScopeError,
    RulesError,
    UnknownMemberStateError,
    Verdict,
)

# fmt: off
PROTOCOL_ORDER = (
    "BE", "BG", "CZ", "DK", "DE", "EE", "IE", "EL", "ES", "FR", "HR", "IT", "CY", "LV",
    "LT", "LU", "HU", "MT", "NL", "AT", "PL", "PT", "RO", "SI", "SK", "FI", "SE",
)
# fmt: on


def test_the_scheme_has_a_code_and_the_27_member_states_in_protocol_order(eci):
    assert eci.code == "eci"
    assert eci.member_state_codes() == PROTOCOL_ORDER
    assert "GR" not in eci.member_state_codes()


def test_names_are_english(eci):
    names = {s.code: s.name for s in eci.member_states(registered=date(2025, 1, 1))}
    assert names["EL"] == "Greece"
    assert names["CZ"] == "Czechia"
    assert names["NL"] == "Netherlands"


def test_nine_member_states_use_part_a_and_eighteen_part_b(eci):
    parts = {code: eci.part(code) for code in eci.member_state_codes()}
    assert sorted(c for c, p in parts.items() if p == "A") == sorted(
        ["DK", "DE", "IE", "EL", "FR", "LU", "NL", "SK", "FI"]
    )
    assert sum(p == "B" for p in parts.values()) == 18


def test_required_fields_follow_annex_iii(eci):
    assert eci.required_fields("FR") == (
        "first_names",
        "family_names",
        "residence.street",
        "residence.postal_code",
        "residence.city",
        "residence.country",
        "date_of_birth",
    )
    assert eci.required_fields("PL") == ("first_names", "family_names", "id_type", "id_number")


@pytest.mark.parametrize(
    ("name", "limit", "spaces_count"),
    [("title", 100, True), ("objectives", 1100, False), ("annex", 5000, False)],
)
def test_annex_ii_limits_the_texts_of_a_registration_request(eci, name, limit, spaces_count):
    rule = eci.text_limit(name)
    assert (rule.name, rule.max_characters, rule.spaces_count) == (name, limit, spaces_count)
    assert rule.source.citation == "Reg. (EU) 2019/788, Annex II"
    assert eci.text_limits()[name] == rule
    assert json.loads(json.dumps(rule.as_dict())) == rule.as_dict()


def test_a_limit_without_spaces_does_not_count_white_space_of_any_kind(eci):
    objectives = eci.text_limit("objectives")
    assert objectives.length("a b\tc\nd\u00a0e") == 5
    assert objectives.allows("x" * 1100 + " " * 50)
    assert not objectives.allows("x" * 1101)
    title = eci.text_limit("title")
    assert title.length("a b") == 3
    assert title.allows("x" * 100)
    assert not title.allows("x" * 50 + " " + "x" * 50)


def test_an_unknown_annex_ii_text_is_a_rules_error(eci):
    with pytest.raises(RulesError, match="unknown Annex II text"):
        eci.text_limit("subject")


def test_only_germany_has_the_residence_footnote(eci):
    note = eci.residence_note("DE")
    assert note is not None
    assert "German diplomatic representation abroad" in note.text
    assert note.source.citation == "Reg. (EU) 2019/788, Annex III, Part A, footnote 1"
    assert all(eci.residence_note(c) is None for c in eci.member_state_codes() if c != "DE")


def test_member_state_rules_carry_everything_a_form_needs(eci):
    poland = eci.member_state("PL", registered=date(2025, 1, 1))
    assert isinstance(poland, MemberStateRules)
    assert (poland.code, poland.name, poland.seats, poland.threshold) == ("PL", "Poland", 53, 38160)
    assert (poland.part, poland.min_age) == ("B", 18)
    assert [d.code for d in poland.id_documents] == ["pesel"]
    assert poland.id_documents[0].validator == "stdnum.pl.pesel"
    assert poland.id_documents[0].age_from_number
    assert set(poland.sources) >= {"name", "seats", "threshold", "part", "min_age", "id_documents"}
    assert poland.uncertain == ()


def test_as_dict_is_plain_json(eci):
    rules = eci.member_state("SK", registered=date(2025, 1, 1)).as_dict()
    assert json.loads(json.dumps(rules)) == rules
    assert {"code", "name", "seats", "threshold", "part", "min_age", "id_documents"} <= set(rules)
    assert rules["uncertain"] == ["part", "min_age"]
    assert rules["sources"]["part"]["uncertain"] is True
    assert set(rules["sources"]["part"]) >= {"key", "citation", "uncertain"}
    assert eci.member_state("ES", registered=date(2025, 1, 1)).as_dict()["id_documents"] == [
        "dni",
        "passport",
    ]
    table = eci.threshold_table(date(2025, 1, 1)).as_dict()
    assert json.loads(json.dumps(table)) == table


def test_unknown_member_state_codes_are_rules_errors(eci):
    for call in (
        lambda: eci.member_state("GR", registered=date(2025, 1, 1)),
        lambda: eci.member_state("de", registered=date(2025, 1, 1)),
        lambda: eci.part("UK"),
        lambda: eci.min_age("XX", on=date(2025, 1, 1)),
        lambda: eci.required_fields(""),
    ):
        with pytest.raises(UnknownMemberStateError):
            call()
    assert issubclass(UnknownMemberStateError, RulesError)
    assert issubclass(OutOfScopeError, RulesError)


def test_n_is_a_no_op_marker():
    assert N_("This number is too short.") == "This number is too short."


def test_result_types_have_the_agreed_shapes():
    assert IdCheck(valid=False, reason="x", compact=None, birth_date=None).valid is False
    verdict = Verdict(successful=False, total=0, states_reached=(), by_member_state={}, reasons=())
    assert verdict.total == 0
