"""Display names that must follow the reader's language, and the language switch.

The rules data names Member States in English for sources and logs; pages show these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language as django_set_language

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

MEMBER_STATE_NAMES: dict[str, StrPromise] = {
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


@csrf_exempt
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (a POST of ``language`` and ``next``), without a CSRF token.

    Choosing a language changes nothing but how pages read, so it is no state change worth a
    token; and a token would put a year-long ``csrftoken`` cookie on every public page,
    making each reader recognisable and no page cacheable. The language cookie is set only when
    someone chooses; ``next`` must stay on this site (else the referring page or ``/``).
    """
    return django_set_language(request)


def language_from_address(raw: str | None) -> str | None:
    """The language ``?lang=`` asks for, if it is one of the site's; else None (no error: a
    campaign site's typo shows the framed page in the visitor's language, as without it)."""
    code = (raw or "").strip().lower()
    return code if code in dict(settings.LANGUAGES) else None
