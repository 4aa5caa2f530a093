"""ID numbers in words, in every language: the hints and the message for a wrong one."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from quorum.rules import scheme
from quorum.rules.id_hints import id_format
from quorum.signing.id_hints import document_hint, wrong_number

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def document(state: str, code: str):
    return next(d for d in scheme("eci").id_documents(state) if d.code == code)


def test_a_hint_says_the_form_and_gives_the_example() -> None:
    with translation.override("en"):
        assert document_hint(document("RO", "id_card")) == (
            "2 letters and 6 digits, for example AB123456"
        )
        assert document_hint(document("CZ", "passport")) == "7 to 8 digits, for example 12345678"


def test_several_forms_each_get_their_example_and_are_joined_with_or() -> None:
    with translation.override("en"):
        assert document_hint(document("CZ", "id_card")) == (
            "9 digits (123456789), 6 digits, 2 letters and 2 digits (123456AB78), "
            "6 digits and 2 letters (123456AB) or 2 letters and 6 digits (AB123456)"
        )
        swedish = document_hint(document("SE", "personnummer"))
    assert swedish.startswith("10 digits (")
    assert ", 6 digits, the sign “+” and 4 digits (" in swedish and ") or 12 digits (" in swedish


def test_counts_take_the_plural_form_of_the_language() -> None:
    with translation.override("pl"):
        hint = document_hint(document("RO", "id_card"))
    assert "2 litery" in hint and "6 cyfr" in hint and " i " in hint


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_document_has_a_translated_hint_with_its_example_in_every_language(
    language: str,
) -> None:
    for state in scheme("eci").member_state_codes():
        for doc in scheme("eci").id_documents(state):
            with translation.override(language):
                hint = document_hint(doc)
            with translation.override("en"):
                english = document_hint(doc)
            example = id_format(doc).example
            assert example is not None and example in hint
            if language != "en":
                assert hint != english, (language, hint)


def test_the_wrong_number_message_is_made_in_the_language_it_is_read_in() -> None:
    message = wrong_number(document("AT", "id_card"), (), "123")
    with translation.override("en"):
        assert str(message) == (
            "The number of a “Personalausweis” is 8 digits, for example 12345678."
        )
    with translation.override("de"):
        assert "8 Ziffern" in str(message)
