"""Translated labels and hints for the statement fields."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

FIELD_LABELS: dict[str, Promise] = {
    "nationality": _("Nationality"),
    "first_names": _("Full first names"),
    "family_names": _("Family names"),
    "date_of_birth": _("Date of birth"),
    "residence.street": _("Street and number"),
    "residence.postal_code": _("Postal code"),
    "residence.city": _("City"),
    "residence.country": _("Country"),
    "id_type": _("Type of personal identification number or document"),
    "id_number": _("Personal identification number or document number"),
    "altcha": _("Anti-abuse check"),
    "privacy_read": _("Privacy statement"),
}

FIELD_HINTS: dict[str, Promise] = {
    "first_names": _("All your first names, as in your identity document."),
    "residence.country": _("The country where you live, which may be outside the EU."),
}


DATE_PART_LABELS: dict[str, Promise] = {
    "day": _("Day"),
    "month": _("Month"),
    "year": _("Year"),
}

#: The example date of the hint, part by part: 17 March 1979.
_EXAMPLE_PARTS = {"day": "17", "month": "3", "year": "1979"}

POW_NEEDS_JAVASCRIPT = _(
    "The anti-abuse check needs JavaScript, which is off in this browser or has not finished. "
    "Switch JavaScript on and send the form again: what you typed is kept."
)


def date_example(order: Sequence[str]) -> str:
    """The date-of-birth hint with its example in the order of the three fields."""
    example = " ".join(_EXAMPLE_PARTS[part] for part in order)
    return gettext("For example %(example)s") % {"example": example}


def field_id(name: str) -> str:
    return "field-" + name.replace(".", "-").replace("_", "-")
