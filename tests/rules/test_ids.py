"""ID number validators (Annex III, Part B): checksums, formats, birth dates, robustness."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.rules import IdCheck, UnknownMemberStateError
from quorum.rules import ids as rules_ids

# (member state, type code, number as a person might type it, compact form, birth date).
# Checksum numbers are the public examples of python-stdnum's documentation; format-only
# numbers follow the documented format hints (C-DOCVAL) and have no check digit to get wrong.
VALID = [
    ("BE", "national_register_number", "85.07.30-033 28", "85073003328", date(1985, 7, 30)),
    ("BE", "national_register_number", "17 07 30 033 84", "17073003384", date(2017, 7, 30)),
    ("BG", "egn", "8032056031", "8032056031", date(1880, 12, 5)),
    ("BG", "egn", "752316 926 3", "7523169263", date(1875, 3, 16)),
    ("CZ", "id_card", "123456789", "123456789", None),
    ("CZ", "passport", "12345678", "12345678", None),
    ("EE", "isikukood", "36805280109", "36805280109", date(1968, 5, 28)),
    ("ES", "dni", "54362315-k", "54362315K", None),
    ("ES", "passport", "AAA123456", "AAA123456", None),
    ("HR", "oib", "33392005961", "33392005961", None),
    ("IT", "passport", "YA1234567", "YA1234567", None),
    ("IT", "id_card", "CA00000AA", "CA00000AA", None),
    ("CY", "id_card", "1234567", "1234567", None),
    ("CY", "passport", "K12345678", "K12345678", None),
    ("LV", "personas_kods", "161175-19997", "16117519997", date(1975, 11, 16)),
    ("LV", "personas_kods", "328673-00679", "32867300679", None),
    ("LT", "asmens_kodas", "33309240064", "33309240064", date(1933, 9, 24)),
    ("HU", "id_card", "123456AB", "123456AB", None),
    ("HU", "passport", "AB1234567", "AB1234567", None),
    ("HU", "personal_number", "12345678901", "12345678901", None),
    ("MT", "id_card", "1234567m", "1234567M", None),
    ("AT", "passport", "P1234567", "P1234567", None),
    ("AT", "id_card", "12345678", "12345678", None),
    ("PL", "pesel", "44051401359", "44051401359", date(1944, 5, 14)),
    ("PL", "pesel", "02211307589", "02211307589", date(2002, 1, 13)),
    ("PT", "id_card", "12345678", "12345678", None),
    ("PT", "passport", "C123456", "C123456", None),
    ("PT", "citizen_card", "00000000 0 ZZ4", "000000000ZZ4", None),
    ("RO", "id_card", "AB123456", "AB123456", None),
    ("RO", "passport", "12345678", "12345678", None),
    ("RO", "cnp", "1630615123457", "1630615123457", date(1963, 6, 15)),
    ("SI", "emso", "0101006500006", "0101006500006", date(2006, 1, 1)),
    ("SE", "personnummer", "880320-0016", "198803200016", date(1988, 3, 20)),
    ("SE", "personnummer", "19880320-0016", "198803200016", date(1988, 3, 20)),
    ("SE", "personnummer", "811228-9841", "198112289841", date(1981, 12, 28)),
]

# (member state, type code, number, reason)
INVALID = [
    ("BE", "national_register_number", "12345678901", rules_ids.CHECK_DIGIT),
    ("BG", "egn", "8032056032", rules_ids.CHECK_DIGIT),
    ("BG", "egn", "8019010008", rules_ids.BAD_COMPONENT),
    ("CZ", "id_card", "1234567890", rules_ids.BAD_FORMAT),
    ("CZ", "passport", "1234567A", rules_ids.BAD_FORMAT),
    ("EE", "isikukood", "36805280108", rules_ids.CHECK_DIGIT),
    ("ES", "dni", "54362315Z", rules_ids.CHECK_DIGIT),
    ("ES", "dni", "54362315", rules_ids.TOO_SHORT),
    ("ES", "passport", "AA1234567", rules_ids.BAD_FORMAT),
    ("HR", "oib", "33392005962", rules_ids.CHECK_DIGIT),
    ("IT", "passport", "Y12345678", rules_ids.BAD_FORMAT),
    ("IT", "id_card", "C000000AA", rules_ids.BAD_FORMAT),
    ("CY", "id_card", "12345678901", rules_ids.TOO_LONG),
    ("CY", "passport", "A123456", rules_ids.BAD_FORMAT),
    ("LV", "personas_kods", "328673-00677", rules_ids.CHECK_DIGIT),
    ("LV", "personas_kods", "161375-19997", rules_ids.BAD_COMPONENT),
    ("LV", "personas_kods", "40003521600", rules_ids.BAD_FORMAT),  # a company's number
    ("LT", "asmens_kodas", "33309240164", rules_ids.CHECK_DIGIT),
    ("HU", "id_card", "1234567A", rules_ids.BAD_FORMAT),
    ("HU", "passport", "A1234567", rules_ids.BAD_FORMAT),
    ("HU", "personal_number", "1234567890", rules_ids.TOO_SHORT),
    ("MT", "id_card", "12345678", rules_ids.BAD_FORMAT),
    ("AT", "passport", "12345678", rules_ids.BAD_FORMAT),
    ("AT", "id_card", "P1234567", rules_ids.BAD_FORMAT),
    ("PL", "pesel", "44051401358", rules_ids.CHECK_DIGIT),
    ("PL", "pesel", "02381307589", rules_ids.BAD_COMPONENT),
    ("PT", "id_card", "123456789", rules_ids.TOO_LONG),
    ("PT", "passport", "1234567", rules_ids.BAD_FORMAT),
    ("PT", "citizen_card", "000000000ZZ3", rules_ids.CHECK_DIGIT),
    ("RO", "id_card", "A1234567", rules_ids.BAD_FORMAT),
    ("RO", "passport", "1234567", rules_ids.TOO_SHORT),
    ("RO", "cnp", "1630615123458", rules_ids.CHECK_DIGIT),
    ("RO", "cnp", "1632215123457", rules_ids.BAD_COMPONENT),
    ("SI", "emso", "0101006500007", rules_ids.CHECK_DIGIT),
    ("SE", "personnummer", "880320-0018", rules_ids.CHECK_DIGIT),
    ("SE", "personnummer", "881320-0016", rules_ids.BAD_COMPONENT),
]


def _all_types(eci) -> set[tuple[str, str]]:
    return {(code, d.code) for code in eci.member_state_codes() for d in eci.id_documents(code)}


def test_every_part_b_type_has_a_valid_and_an_invalid_example(eci):
    assert {(c, t) for c, t, *_ in VALID} == _all_types(eci)
    assert {(c, t) for c, t, *_ in INVALID} == _all_types(eci)


@pytest.mark.parametrize(("code", "id_type", "number", "compact", "birth"), VALID)
def test_a_valid_number_is_accepted_in_compact_form(eci, code, id_type, number, compact, birth):
    assert eci.check_id(code, id_type, number) == IdCheck(
        valid=True, reason=None, compact=compact, birth_date=birth
    )


@pytest.mark.parametrize(("code", "id_type", "number", "reason"), INVALID)
def test_an_invalid_number_is_refused_with_its_reason(eci, code, id_type, number, reason):
    assert eci.check_id(code, id_type, number) == IdCheck(
        valid=False, reason=reason, compact=None, birth_date=None
    )


@pytest.mark.parametrize(
    "spelling",
    ["44051401359", "44 05 14 01 359", "44.05.14.01.359", "440514-01359", "4405/1401359"],
)
def test_spaces_dots_hyphens_and_slashes_are_ignored(eci, spelling):
    assert eci.check_id("PL", "pesel", spelling).compact == "44051401359"


def test_checksum_types_name_their_stdnum_validator_and_format_types_say_format_only(eci):
    for code in eci.member_state_codes():
        for document in eci.id_documents(code):
            if document.validator == "format":
                assert document.check.startswith("format only"), (code, document.code)
                assert document.patterns
            else:
                assert document.validator in rules_ids.CHECKSUMS, (code, document.code)
                assert document.check.startswith("checksum: python-stdnum")


def test_the_brief_s_type_codes_exist(eci):
    codes = {c: [d.code for d in eci.id_documents(c)] for c in eci.member_state_codes()}
    assert codes["PL"] == ["pesel"]
    assert codes["ES"] == ["dni", "passport"]
    assert codes["SE"] == ["personnummer"]
    assert codes["BE"] == ["national_register_number"]
    assert codes["IT"] == ["passport", "id_card"]
    assert eci.id_documents("DE") == ()


def test_native_labels_are_kept(eci):
    labels = {d.code: d.label for d in eci.id_documents("RO")}
    assert labels == {
        "id_card": "Carte de identitate",
        "passport": "Pașaport",
        "cnp": "Cod Numeric Personal",
    }
    assert eci.id_documents("BG")[0].label == "Единен граждански номер"


def test_a_type_the_member_state_does_not_accept_is_refused(eci):
    assert eci.check_id("PL", "passport", "AB1234567").reason == rules_ids.UNKNOWN_TYPE
    assert eci.check_id("DE", "passport", "C01X00T47").reason == rules_ids.UNKNOWN_TYPE
    assert eci.check_id("PL", None, "44051401359").reason == rules_ids.UNKNOWN_TYPE  # type: ignore[arg-type]


def test_an_unknown_member_state_is_a_rules_error(eci):
    with pytest.raises(UnknownMemberStateError):
        eci.check_id("XX", "pesel", "44051401359")
    with pytest.raises(UnknownMemberStateError):
        eci.check_id("UK", "passport", "123456789")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", rules_ids.EMPTY),
        ("  - . / ", rules_ids.EMPTY),
        (None, rules_ids.EMPTY),
        (44051401359, rules_ids.INVALID),
        (b"44051401359", rules_ids.INVALID),
        ("4405140135\x00", rules_ids.BAD_CHARACTERS),
        ("44051401359\n", rules_ids.BAD_CHARACTERS),
        ("\u0664\u0664051401359", rules_ids.BAD_CHARACTERS),  # Arabic-Indic digits
        (
            "\uff14\uff14\uff10\uff15\uff11\uff14\uff10\uff11\uff13\uff15\uff19",
            rules_ids.BAD_CHARACTERS,
        ),
        ("1" * 10_000_000, rules_ids.TOO_LONG),
        ("4405140135+", rules_ids.BAD_FORMAT),
    ],
)
def test_strange_input_gets_a_reason_not_an_exception(eci, number, reason):
    assert eci.check_id("PL", "pesel", number) == IdCheck(False, reason, None, None)


def test_every_reason_is_a_fixed_sentence():
    assert len(set(rules_ids.REASONS)) == len(rules_ids.REASONS)
    for reason in rules_ids.REASONS:
        assert reason.endswith(".")
        assert "{" not in reason


def _pairs() -> list[tuple[str, str]]:
    from quorum.rules import scheme

    s = scheme("eci")
    return sorted(_all_types(s))


NOISE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789 .-/+", max_size=20),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcz .-/+\x00\t", max_size=16),
    st.binary(max_size=24).map(lambda b: b.decode("latin-1")),
)


@pytest.mark.parametrize(("code", "id_type"), _pairs())
@settings(max_examples=60, deadline=None)
@given(number=NOISE)
def test_no_input_ever_raises_and_every_refusal_has_a_reason(eci, code, id_type, number):
    result = eci.check_id(code, id_type, number)
    assert isinstance(result, IdCheck)
    if result.valid:
        assert result.reason is None
        assert result.compact is not None
        assert result.compact.isascii()
        assert result.compact.isalnum()
    else:
        assert result.reason in rules_ids.REASONS
        assert result.compact is None
        assert result.birth_date is None


@settings(max_examples=200, deadline=None)
@given(body=st.from_regex(r"\A[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{4}\Z"))
def test_any_pesel_with_a_real_check_digit_is_valid_and_yields_its_birth_date(eci, body):
    from stdnum.pl import pesel

    number = body + pesel.calc_check_digit(body)
    result = eci.check_id("PL", "pesel", number)
    assert result.valid
    assert result.birth_date == pesel.get_birth_date(number)
    wrong = body + str((int(pesel.calc_check_digit(body)) + 1) % 10)
    assert eci.check_id("PL", "pesel", wrong).reason == rules_ids.CHECK_DIGIT
