"""Display names that must follow the reader's language.

The rules data names Member States in English for sources and logs; pages show these.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MEMBER_STATE_NAMES: dict[str, Promise] = {
    "BE": _("Belgium"),
    "BG": _("Bulgaria"),
    "CZ": _("Czechia"),
    "DK": _("Denmark"),
    "DE": _("Germany"),
    "EE": _("Estonia"),
    "IE": _("Ireland"),
    "EL": _("Greece"),
    "ES": _("Spain"),
    "FR": _("France"),
    "HR": _("Croatia"),
    "IT": _("Italy"),
    "CY": _("Cyprus"),
    "LV": _("Latvia"),
    "LT": _("Lithuania"),
    "LU": _("Luxembourg"),
    "HU": _("Hungary"),
    "MT": _("Malta"),
    "NL": _("Netherlands"),
    "AT": _("Austria"),
    "PL": _("Poland"),
    "PT": _("Portugal"),
    "RO": _("Romania"),
    "SI": _("Slovenia"),
    "SK": _("Slovakia"),
    "FI": _("Finland"),
    "SE": _("Sweden"),
}


def member_state_name(code: str) -> str:
    name = MEMBER_STATE_NAMES.get(code)
    return str(name) if name is not None else code
