"""What every service checks in what it is given: Annex II text limits, no control characters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from quorum.core.errors import DomainError
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from quorum.initiatives.selectors import text_length_without_spaces

# Annex II limits, as the regulation states them.
TITLE_MAX = 100
OBJECTIVES_MAX = 1100
ANNEX_MAX = 5000


class InvalidRequest(DomainError):
    """The request breaks a rule; `errors` maps fields to translated reasons."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        super().__init__(_("Please correct the fields marked."))
        self.errors = errors


def check_texts(title: str, objectives: str, annex: str = "") -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("The title may have at most 100 characters.")]
    if not objectives.strip():
        errors["objectives"] = [_("Enter the objectives.")]
    elif text_length_without_spaces(objectives) > OBJECTIVES_MAX:
        errors["objectives"] = [
            _("The objectives may have at most 1,100 characters, not counting spaces.")
        ]
    if text_length_without_spaces(annex) > ANNEX_MAX:
        errors["annex"] = [_("The annex may have at most 5,000 characters, not counting spaces.")]
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
