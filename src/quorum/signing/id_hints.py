"""ID numbers in words: the hint beside each document type and the message for a wrong one.

The format itself comes from the rules data (``quorum.rules.id_hints``); this module only
puts it into the reader's language: counts through ``ngettext`` (the plural rules of each
language), lists through CLDR's list patterns (Babel), so that "2 letters and 6 digits" reads
as a native text would write it.
"""

from __future__ import annotations

from babel.lists import format_list
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext

from quorum.core.local_forms import babel_locale
from quorum.rules.id_hints import Part, id_format, matching_documents
from quorum.rules.model import IdDocumentType


def _part_words(part: Part) -> str:
    if part.kind == "symbol":
        return gettext("the sign “%(symbol)s”") % {"symbol": part.symbol}
    if part.low == part.high:
        if part.kind == "digits":
            text = ngettext("%(count)s digit", "%(count)s digits", part.high)
        elif part.kind == "letters":
            text = ngettext("%(count)s letter", "%(count)s letters", part.high)
        else:
            text = ngettext("%(count)s letter or digit", "%(count)s letters or digits", part.high)
        return text % {"count": part.high}
    if part.kind == "digits":
        text = ngettext("%(low)s to %(count)s digit", "%(low)s to %(count)s digits", part.high)
    elif part.kind == "letters":
        text = ngettext("%(low)s to %(count)s letter", "%(low)s to %(count)s letters", part.high)
    else:
        text = ngettext(
            "%(low)s to %(count)s letter or digit",
            "%(low)s to %(count)s letters or digits",
            part.high,
        )
    return text % {"low": part.low, "count": part.high}


def _form_words(parts: tuple[Part, ...]) -> str:
    return format_list([_part_words(part) for part in parts], locale=babel_locale())


def document_hint(document: IdDocumentType) -> str:
    """The form of ``document``'s number with an example, in the active language:
    "2 letters and 6 digits, for example AB123456"; several forms each with its example in
    brackets, joined by "or", so that the parts of one form do not run into the next."""
    found = id_format(document)
    if not found.alternatives:
        return ""
    if len(found.alternatives) == 1:
        words = _form_words(found.alternatives[0])
        if found.example is None:
            return words
        return gettext("%(format)s, for example %(example)s") % {
            "format": words,
            "example": found.example,
        }
    forms = [
        _form_words(parts) if example is None else f"{_form_words(parts)} ({example})"
        for parts, example in zip(found.alternatives, found.examples, strict=True)
    ]
    return format_list(forms, style="or", locale=babel_locale())


def _wrong_number(document: IdDocumentType, others: tuple[IdDocumentType, ...], number: str) -> str:
    fits = matching_documents(others, number)
    if fits:
        return gettext(
            "This is not the number of a “%(document)s” (%(format)s), but it is a valid "
            "“%(other)s”: choose that type above."
        ) % {
            "document": document.label,
            "format": document_hint(document),
            "other": fits[0].label,
        }
    return gettext("The number of a “%(document)s” is %(format)s.") % {
        "document": document.label,
        "format": document_hint(document),
    }


#: Rendered when it is read, in the language of whoever reads it (an error is made before).
wrong_number = lazy(_wrong_number, str)
