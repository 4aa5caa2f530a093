"""Text that people type: one rule for the characters that no field may hold.

Every door (back-office forms, commands, services) asks the same question here, so a title
that a form refuses is refused by the command line and by the service behind both.

Refused everywhere:

- control characters (Unicode category Cc: C0, DEL, C1). An ESC in a title is a terminal
  escape sequence on the screen of whoever prints it (an operator's shell, an authority's
  toolkit report), and the batch format refuses them;
- lone surrogates (category Cs): they are not text and cannot be written as UTF-8 (a command
  line argument with bytes that are not UTF-8 arrives as such).

Multi-line fields (a description, reasons) keep tab and line feed, and a carriage return
directly before a line feed (browsers send every line break of a text area as CR LF; a lone
CR would let a line overwrite itself on a terminal).

Single-line fields (titles, names, numbers, links) also refuse the line and paragraph
separators (U+2028, U+2029: line breaks by another name) and the bidirectional embeddings,
overrides and isolates (U+202A–U+202E, U+2066–U+2069). A one-line value is shown inside
other text (lists, a batch header, command output, an embed snippet) where an unterminated
override reorders what follows it, e.g. a registration number printed after the title. In a
multi-line field they are allowed: it is shown as its own block, and the bidirectional
algorithm ends every embedding at the end of its paragraph. No official EU language is
written right to left, so a title loses nothing by it. Other format characters (soft hyphen,
zero-width joiner in emoji, left-to-right mark) stay allowed everywhere.
"""

from __future__ import annotations

import argparse
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CONTROL_CHARACTERS_MESSAGE",
    "ControlCharactersValidator",
    "EmailAddressField",
    "LinkField",
    "MultiLineField",
    "NoControlCharactersMixin",
    "SingleLineField",
    "cli_multi_line",
    "cli_single_line",
    "has_control_characters",
    "printable_line",
    "refuse_control_characters",
    "refused_characters",
]

CONTROL_CHARACTERS_MESSAGE = _("Remove control characters from this field.")
CONTROL_CHARACTERS_CODE = "control_characters"

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_SEPARATORS = frozenset("\u2028\u2029")
MULTI_LINE_KEPT = frozenset("\t\n")
REPLACEMENT = "\ufffd"


def _refused(char: str, *, multiline: bool) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return not (multiline and char in MULTI_LINE_KEPT)
    if category == "Cs":
        return True
    return not multiline and (char in BIDI_CONTROLS or char in LINE_SEPARATORS)


def refused_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The characters of ``value`` that a field of its kind may not hold, in order."""
    if value.isprintable():  # the common case: no Cc, Cs, Cf, Zl or Zp at all
        return []
    found = []
    for position, char in enumerate(value):
        if multiline and char == "\r" and value[position + 1 : position + 2] == "\n":
            continue
        if _refused(char, multiline=multiline):
            found.append(char)
    return found


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    return bool(refused_characters(value, multiline=multiline))


def refuse_control_characters(value: str, *, multiline: bool = False) -> None:
    """Raise ``ValidationError`` (translated, code "control_characters") if ``value`` holds one."""
    if has_control_characters(value, multiline=multiline):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code=CONTROL_CHARACTERS_CODE)


def printable_line(value: str) -> str:
    """``value`` on one line, safe to print: runs of white space become one space, and every
    character a single-line field refuses becomes U+FFFD. For text stored before the rule."""
    line = " ".join(value.split())
    if not has_control_characters(line):
        return line
    return "".join(REPLACEMENT if _refused(char, multiline=False) else char for char in line)


@deconstructible
class ControlCharactersValidator:
    """A Django validator: ``ControlCharactersValidator(multiline=True)`` for a text area."""

    message = CONTROL_CHARACTERS_MESSAGE
    code = CONTROL_CHARACTERS_CODE

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and has_control_characters(value, multiline=self.multiline):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ControlCharactersValidator) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((type(self), self.multiline))


class NoControlCharactersMixin:
    """For a ``forms.CharField`` (or a subclass): refuse what this module refuses.

    Multi-line when the widget is a text area, unless ``multiline`` says otherwise.
    """

    def __init__(self, *args: Any, multiline: bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.Field = self  # type: ignore[assignment]
        if multiline is None:
            multiline = isinstance(field.widget, forms.Textarea)
        # Django's own null-character check would add a second message for a NUL.
        field.validators = [
            validator
            for validator in field.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]
        field.validators.append(ControlCharactersValidator(multiline=multiline))


class SingleLineField(NoControlCharactersMixin, forms.CharField):
    """One line of text: a title, a name, a number."""


class MultiLineField(NoControlCharactersMixin, forms.CharField):
    """Paragraphs of text in a text area: line breaks and tabs are kept."""

    widget = forms.Textarea


class EmailAddressField(NoControlCharactersMixin, forms.EmailField):
    """An e-mail address; Django's check alone lets a quoted local part hold control characters."""


class LinkField(NoControlCharactersMixin, forms.URLField):
    """A link; Django's check alone lets a path hold control characters other than CR, LF, tab."""


def _cli(multiline: bool) -> Any:
    def parse(value: str) -> str:
        if has_control_characters(value, multiline=multiline):
            raise argparse.ArgumentTypeError(str(CONTROL_CHARACTERS_MESSAGE))
        return value

    return parse


#: ``type=`` for a command's text argument: argparse refuses it with the same sentence.
cli_single_line = _cli(multiline=False)
cli_multi_line = _cli(multiline=True)
