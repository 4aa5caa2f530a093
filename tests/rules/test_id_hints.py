"""The form of each ID number, derived from the rules data, with an example its check accepts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.rules import scheme
from quorum.rules.id_hints import (
    Part,
    UnsupportedPattern,
    describe,
    id_format,
    matching_documents,
    parse_pattern,
)
from quorum.rules.ids import check_number
from quorum.rules.model import IdDocumentType

EVERY_DOCUMENT = [
    (code, document)
    for code in scheme("eci").member_state_codes()
    for document in scheme("eci").id_documents(code)
]
IDS = [f"{code}-{document.code}" for code, document in EVERY_DOCUMENT]


@pytest.mark.parametrize(("code", "document"), EVERY_DOCUMENT, ids=IDS)
def test_every_document_type_of_the_data_has_a_form_and_an_example_its_check_accepts(
    code: str, document: IdDocumentType
) -> None:
    found = id_format(document)
    assert len(found.alternatives) == len(document.patterns)
    assert found.example is not None, "every shipped type gets an example"
    assert any(re.fullmatch(p, found.example) for p in document.patterns)
    assert check_number(document, found.example).valid


@pytest.mark.parametrize(("code", "document"), EVERY_DOCUMENT, ids=IDS)
def test_the_lengths_said_are_the_lengths_the_patterns_allow(
    code: str, document: IdDocumentType
) -> None:
    for parts in id_format(document).alternatives:
        shortest = sum(part.low for part in parts)
        longest = sum(part.high for part in parts)
        assert document.min_length <= longest and shortest <= document.max_length


def test_the_example_is_the_same_on_every_run() -> None:
    cnp = next(d for d in scheme("eci").id_documents("RO") if d.code == "cnp")
    id_format.cache_clear()
    first = id_format(cnp).example
    id_format.cache_clear()
    assert id_format(cnp).example == first


def test_a_romanian_identity_card_is_two_letters_and_six_digits() -> None:
    card = next(d for d in scheme("eci").id_documents("RO") if d.code == "id_card")
    found = id_format(card)
    assert found.alternatives == ((Part("letters", 2, 2), Part("digits", 6, 6)),)
    assert found.example == "AB123456"


def test_neighbours_of_one_kind_are_one_run_and_a_sign_stays_itself() -> None:
    assert describe(parse_pattern("^[DS]P[0-9]{7}$")) == (
        Part("letters", 2, 2),
        Part("digits", 7, 7),
    )
    assert describe(parse_pattern("^[0-9]{6}[+][0-9]{4}$")) == (
        Part("digits", 6, 6),
        Part("symbol", 1, 1, "+"),
        Part("digits", 4, 4),
    )
    assert describe(parse_pattern("^[A-Z]{4,5}[0-9]{6}$")) == (
        Part("letters", 4, 5),
        Part("digits", 6, 6),
    )


@pytest.mark.parametrize("pattern", ["[0-9]{3}", "^[0-9]+$", "^(AB|CD)$", "^[0-9]{3,1}$", "^.$"])
def test_a_pattern_of_another_shape_is_refused_loudly(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern):
        parse_pattern(pattern)


def test_a_number_that_fits_another_accepted_type_is_found() -> None:
    documents = scheme("eci").id_documents("RO")
    cnp = next(d for d in documents if d.code == "cnp")
    example = id_format(cnp).example
    assert example is not None
    assert [d.code for d in matching_documents(documents, example)] == ["cnp"]


CLASSES = st.sampled_from(["[0-9]", "[A-Z]", "[A-Z0-9]", "[0-3]", "[BCEJ]", "[+]", "K", "7"])
QUANTIFIERS = st.one_of(
    st.just(""),
    st.integers(1, 9).map(lambda n: f"{{{n}}}"),
    st.tuples(st.integers(1, 5), st.integers(0, 4)).map(lambda t: f"{{{t[0]},{t[0] + t[1]}}}"),
)


@given(st.lists(st.tuples(CLASSES, QUANTIFIERS), min_size=1, max_size=5))
def test_the_generated_example_matches_its_own_pattern(atoms: list[tuple[str, str]]) -> None:
    pattern = "^" + "".join(klass + quantifier for klass, quantifier in atoms) + "$"
    parsed = parse_pattern(pattern)
    document = IdDocumentType(
        code="x",
        label="X",
        validator="format",
        age_from_number=False,
        min_length=sum(a.low for a in parsed),
        max_length=sum(a.high for a in parsed),
        patterns=(pattern,),
    )
    found = id_format(document)
    assert found.example is not None
    assert re.fullmatch(pattern, found.example)
    (parts,) = found.alternatives
    assert sum(p.high for p in parts) == len(found.example)
