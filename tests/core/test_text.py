"""One rule for the characters no field may hold (quorum.core.text), at every kind of door."""

from __future__ import annotations

import argparse
import unicodedata

import pytest
from django import forms
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.text import (
    CONTROL_CHARACTERS_MESSAGE,
    EmailAddressField,
    LinkField,
    MultiLineField,
    SingleLineField,
    cli_multi_line,
    cli_single_line,
    has_control_characters,
    printable_line,
    refuse_control_characters,
)

CONTROL = st.characters(categories=["Cc"])
#: Control characters a multi-line field refuses: every one but tab and line feed (CR apart).
MULTI_LINE_CONTROL = st.characters(categories=["Cc"], exclude_characters="\t\n\r")
BIDI = st.sampled_from("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Text that may be anything, control characters included.
ANY = st.text(max_size=30)
PLAIN = st.text(
    alphabet=st.characters(exclude_categories=["Cc", "Cs", "Cf", "Zl", "Zp"]), max_size=40
)


def around(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``inner`` somewhere inside a text that starts and ends with a letter (nothing to strip)."""
    return st.tuples(ANY, inner, ANY).map(lambda parts: f"T{parts[0]}{parts[1]}{parts[2]}t")


class Fields(forms.Form):
    title = SingleLineField(max_length=200)
    description = MultiLineField(max_length=200)
    email = EmailAddressField(required=False)
    link = LinkField(required=False, assume_scheme="https")


def errors_of(**data: str) -> dict[str, list[str]]:
    form = Fields(data={"title": "A title", "description": "A description", **data})
    form.is_valid()
    return {name: [str(message) for message in found] for name, found in form.errors.items()}


@given(around(CONTROL))
def test_a_single_line_field_refuses_any_control_character(value: str) -> None:
    assert has_control_characters(value)
    with pytest.raises(ValidationError) as refused:
        refuse_control_characters(value)
    assert refused.value.code == "control_characters"
    assert errors_of(title=value) == {"title": [str(CONTROL_CHARACTERS_MESSAGE)]}


@given(around(MULTI_LINE_CONTROL))
def test_a_multi_line_field_refuses_control_characters_other_than_line_breaks_and_tabs(
    value: str,
) -> None:
    assert has_control_characters(value, multiline=True)
    assert errors_of(description=value) == {"description": [str(CONTROL_CHARACTERS_MESSAGE)]}


@given(PLAIN)
def test_text_without_control_characters_passes_every_field(value: str) -> None:
    assert not has_control_characters(value)
    assert not has_control_characters(value, multiline=True)
    assert "title" not in errors_of(title=f"T{value}t")


def test_a_multi_line_field_keeps_line_breaks_as_browsers_send_them_and_tabs() -> None:
    text = "First paragraph,\r\n\tindented.\n\nLast one."
    assert errors_of(description=text) == {}
    # A lone carriage return lets a line overwrite itself on a terminal.
    assert errors_of(description="Paid\rUnpaid") == {
        "description": [str(CONTROL_CHARACTERS_MESSAGE)]
    }
    assert errors_of(title="Two\nlines") == {"title": [str(CONTROL_CHARACTERS_MESSAGE)]}


@given(st.tuples(PLAIN, BIDI, PLAIN).map(lambda parts: f"T{''.join(parts)}t"))
def test_bidi_overrides_are_refused_on_one_line_and_kept_in_paragraphs(value: str) -> None:
    assert errors_of(title=value) == {"title": [str(CONTROL_CHARACTERS_MESSAGE)]}
    assert errors_of(description=value) == {}


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_are_line_breaks_refused_on_one_line(
    separator: str,
) -> None:
    assert has_control_characters(f"one{separator}two")
    assert not has_control_characters(f"one{separator}two", multiline=True)


@pytest.mark.parametrize(
    "text",
    [
        "Zero\u200dwidth joiner in emoji 👩\u200d🔬",
        "soft\u00adhyphen",
        "a left\u200eto right mark",
        "Saubere Luft für alle",
    ],
)
def test_ordinary_format_characters_stay_allowed(text: str) -> None:
    assert not has_control_characters(text)


def test_a_nul_gets_one_message_not_two() -> None:
    # Django's own check for NUL is replaced, not doubled.
    assert errors_of(title="A\x00B") == {"title": [str(CONTROL_CHARACTERS_MESSAGE)]}


def test_a_lone_surrogate_from_a_command_line_of_bad_bytes_is_refused() -> None:
    # A command-line argument with bytes that are not UTF-8 arrives this way.
    assert has_control_characters("Caf\udce9")
    assert has_control_characters("Caf\udce9", multiline=True)


def test_email_addresses_and_links_refuse_control_characters_django_lets_through() -> None:
    assert forms.EmailField().clean('"a\x1bb"@example.eu')  # Django alone accepts it
    assert errors_of(email='"a\x1bb"@example.eu') == {"email": [str(CONTROL_CHARACTERS_MESSAGE)]}
    assert forms.URLField(assume_scheme="https").clean("https://example.eu/a\x1bb")
    assert errors_of(link="https://example.eu/a\x1bb") == {
        "link": [str(CONTROL_CHARACTERS_MESSAGE)]
    }


@given(around(CONTROL))
def test_command_line_text_is_refused_with_the_same_sentence(value: str) -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--title", type=cli_single_line)
    with pytest.raises(argparse.ArgumentError, match="Remove control characters"):
        parser.parse_args(["--title", value])


def test_command_line_paragraphs_keep_their_line_breaks() -> None:
    assert cli_multi_line("One.\nTwo.\r\n") == "One.\nTwo.\r\n"
    with pytest.raises(argparse.ArgumentTypeError):
        cli_multi_line("One.\x1b[2JTwo.")


@given(st.text(max_size=60))
def test_printable_line_makes_any_stored_text_one_printable_line(value: str) -> None:
    line = printable_line(value)
    assert not has_control_characters(line)
    assert line == line.strip()
    for char in value:
        if not has_control_characters(char) and not char.isspace():
            assert char in line  # what was printable stays


def test_printable_line_marks_where_a_control_character_was() -> None:
    assert printable_line("Clean\x1b[2Jair\u202e for\n all") == "Clean\ufffd[2Jair\ufffd for all"
    assert unicodedata.name("\ufffd") == "REPLACEMENT CHARACTER"
