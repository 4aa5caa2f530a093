"""Translated labels and hints for the statement fields."""

from __future__ import annotations

from django.utils.functional import Promise
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
    "date_of_birth": _("For example 1990-04-23."),
    "residence.country": _("The country where you live, which may be outside the EU."),
}


def field_id(name: str) -> str:
    return "field-" + name.replace(".", "-").replace("_", "-")
