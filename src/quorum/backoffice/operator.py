"""The operator's side: the authorities, their key history, and the door for key certificates.

The operator cannot choose an authority's keys: it can only hand on a key certificate that the
authority made with its toolkit. The platform accepts it only if its fingerprint matches the
one the registrar recorded from the designation, or if it is a rotation signed with the
current key.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from quorum.accounts.decorators import require_recent_verification, role_required
from quorum.accounts.roles import OPERATOR
from quorum.authorities.services import authority_key_register
from quorum.backoffice.errors import form_errors
from quorum.backoffice.keys import KeyCertificateForm, authorities_page, key_registered_message
from quorum.core.errors import DomainError

PAGE = "backoffice/operator/authorities.html"


@role_required(OPERATOR)
def authorities(request: HttpRequest) -> HttpResponse:
    return authorities_page(request, PAGE, KeyCertificateForm(), {}, 200)


@role_required(OPERATOR)
@require_recent_verification(minutes=10)
def authority_keys(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(reverse("backoffice:operator-authorities"))
    form = KeyCertificateForm(request.POST, request.FILES)
    if not form.is_valid():
        return authorities_page(request, PAGE, form, form_errors(form), 422)
    try:
        key = authority_key_register(
            certificate=form.cleaned_data["certificate"], actor=request.user
        )
    except DomainError as exc:
        return authorities_page(request, PAGE, form, exc.messages(), 422)
    key_registered_message(request, key)
    return HttpResponseRedirect(reverse("backoffice:operator-authorities"))
