"""What every service checks in what it is given: Annex II text limits, no control characters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from quorum.core.errors import Invalid
from quorum.core.local_forms import local_number
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from quorum.rules import Scheme, TextLimit

# The limits themselves are the scheme's (Annex II in its data file); these say them, by text
# and by whether spaces count.
_TOO_LONG = {
    ("title", True): ngettext_lazy(
        "The title may have at most %(limit)s character.",
        "The title may have at most %(limit)s characters.",
        "count",
    ),
    ("title", False): ngettext_lazy(
        "The title may have at most %(limit)s character, not counting spaces.",
        "The title may have at most %(limit)s characters, not counting spaces.",
        "count",
    ),
    ("objectives", True): ngettext_lazy(
        "The objectives may have at most %(limit)s character.",
        "The objectives may have at most %(limit)s characters.",
        "count",
    ),
    ("objectives", False): ngettext_lazy(
        "The objectives may have at most %(limit)s character, not counting spaces.",
        "The objectives may have at most %(limit)s characters, not counting spaces.",
        "count",
    ),
    ("annex", True): ngettext_lazy(
        "The annex may have at most %(limit)s character.",
        "The annex may have at most %(limit)s characters.",
        "count",
    ),
    ("annex", False): ngettext_lazy(
        "The annex may have at most %(limit)s character, not counting spaces.",
        "The annex may have at most %(limit)s characters, not counting spaces.",
        "count",
    ),
}


class InvalidRequest(Invalid):
    """The request breaks a rule; `errors` maps fields to translated reasons."""

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        super().__init__(_("Please correct the fields marked."), errors)


def too_long_message(limit: TextLimit) -> str:
    """The sentence that states ``limit``, in the active language ("at most 1,100 ...")."""
    count = limit.max_characters
    return _TOO_LONG[limit.name, limit.spaces_count] % {
        "count": count,
        "limit": local_number(count),
    }


def check_texts(
    rules: Scheme, title: str, objectives: str, annex: str = ""
) -> dict[str, list[Any]]:
    """The Annex II limits of ``rules`` on the texts of a request; empty when they hold."""
    errors: dict[str, list[Any]] = {}
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    elif not (limit := rules.text_limit("title")).allows(title):
        errors["title"] = [too_long_message(limit)]
    if not objectives.strip():
        errors["objectives"] = [_("Enter the objectives.")]
    elif not (limit := rules.text_limit("objectives")).allows(objectives):
        errors["objectives"] = [too_long_message(limit)]
    if not (limit := rules.text_limit("annex")).allows(annex):
        errors["annex"] = [too_long_message(limit)]
    return errors


def check_characters(
    errors: dict[str, list[Any]], field: str, *values: object, multiline: bool = False
) -> dict[str, list[Any]]:
    """Refuse control characters in ``values`` (one message, under ``field``).

    Here as well as in every form and command: a door that forgets is still closed.
    """
    if any(
        isinstance(value, str) and has_control_characters(value, multiline=multiline)
        for value in values
    ):
        errors.setdefault(field, []).append(CONTROL_CHARACTERS_MESSAGE)
    return errors
