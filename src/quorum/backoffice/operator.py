"""The operator's side: registering the public keys each authority generated offline."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_set_keys
from quorum.backoffice.errors import domain_errors, form_errors
from quorum.backoffice.forms import MEMBER_STATES
from quorum.core.accounts.decorators import require_recent_verification, role_required
from quorum.core.accounts.roles import OPERATOR
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name


class AuthorityKeysForm(forms.Form):
    member_state = forms.ChoiceField(label=gettext_lazy("Member State"), choices=MEMBER_STATES)
    name = forms.CharField(
        label=gettext_lazy("Name of the authority"), max_length=200, required=False
    )
    sealing_public_key = forms.CharField(
        label=gettext_lazy("Sealing public key (X25519, base64)"), max_length=64
    )
    signing_public_key = forms.CharField(
        label=gettext_lazy("Signing public key (Ed25519, base64)"), max_length=64
    )


def _page(
    request: HttpRequest, form: AuthorityKeysForm, errors: dict[str, list[str]], status: int
) -> HttpResponse:
    authorities = [
        {"authority": authority, "name": member_state_name(authority.member_state)}
        for authority in authority_list(scheme="eci")
    ]
    return render(
        request,
        "backoffice/operator/authorities.html",
        {"form": form, "errors": errors, "authorities": authorities},
        status=status,
    )


@role_required(OPERATOR)
def authorities(request: HttpRequest) -> HttpResponse:
    return _page(request, AuthorityKeysForm(), {}, 200)


@role_required(OPERATOR)
@require_recent_verification(minutes=10)
def authority_keys(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(reverse("backoffice:operator-authorities"))
    form = AuthorityKeysForm(request.POST)
    if not form.is_valid():
        return _page(request, form, form_errors(form), 422)
    data = form.cleaned_data
    try:
        authority_set_keys(
            scheme_code="eci",
            member_state=data["member_state"],
            sealing_public_key=data["sealing_public_key"].strip(),
            signing_public_key=data["signing_public_key"].strip(),
            name=data["name"] or None,
            actor=request.user,
        )
    except DomainError as exc:
        return _page(request, form, domain_errors(exc), 422)
    messages.success(request, _("The authority's public keys are registered."))
    return HttpResponseRedirect(reverse("backoffice:operator-authorities"))
