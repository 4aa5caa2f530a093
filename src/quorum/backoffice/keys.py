"""Authority keys in the back office: the registrar's designations, and key certificates.

Two people, two channels: the registrar records the fingerprint that the Member State gave
with its designation of the competent authority; the operator, or the authority's own staff,
hands on the key certificate that the authority made offline. Nobody here types a key.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from quorum.accounts.decorators import require_recent_verification, role_required
from quorum.accounts.roles import REGISTRAR
from quorum.authorities.models import AuthorityKey
from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_expect_key
from quorum.backoffice.errors import Errors, form_errors
from quorum.backoffice.forms import MEMBER_STATES, GovukForm
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name
from quorum.core.text import SingleLineField
from quorum.proofs.key_certificate import format_fingerprint

#: A key certificate is under 2 KB; this leaves room for pretty-printing, nothing more.
MAX_KEY_CERTIFICATE_BYTES = 16 * 1024


class KeyCertificateForm(GovukForm):
    """The JSON file that `quorum-authority key-certificate` wrote, uploaded or pasted."""

    certificate_file = forms.FileField(label=gettext_lazy("Key certificate file"), required=False)
    certificate_text = forms.CharField(
        label=gettext_lazy("Or paste the key certificate"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        required=False,
        max_length=MAX_KEY_CERTIFICATE_BYTES,
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        upload = data.get("certificate_file")
        text = str(data.get("certificate_text") or "")
        if upload is not None:
            raw = upload.read(MAX_KEY_CERTIFICATE_BYTES + 1)
            if len(raw) > MAX_KEY_CERTIFICATE_BYTES:
                raise forms.ValidationError(_("This file is too large to be a key certificate."))
        elif text.strip():
            raw = text.encode("utf-8")
        else:
            raise forms.ValidationError(_("Choose the key certificate file or paste it."))
        try:
            data["certificate"] = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(
                _("This is not a key certificate: it is not JSON.")
            ) from exc
        return data


class DesignationForm(GovukForm):
    member_state = forms.ChoiceField(label=gettext_lazy("Member State"), choices=MEMBER_STATES)
    name = SingleLineField(label=gettext_lazy("Name of the competent authority"), max_length=200)
    fingerprint = forms.CharField(
        label=gettext_lazy("Key fingerprint given with the designation"),
        help_text=gettext_lazy("64 hexadecimal digits; spaces and colons are ignored."),
        max_length=200,
    )
    designation = SingleLineField(
        label=gettext_lazy("Reference of the designation"),
        help_text=gettext_lazy("For example the notification's date and number."),
        max_length=300,
        required=False,
    )


def authority_rows() -> list[dict[str, object]]:
    """Every authority of the ECI with its current key's fingerprint, for the staff pages."""
    rows = []
    for authority in authority_list(scheme="eci"):
        key = authority.current_key
        rows.append(
            {
                "authority": authority,
                "name": member_state_name(authority.member_state),
                "key": key,
                "fingerprint": format_fingerprint(key.fingerprint) if key else "",
                "expected": format_fingerprint(authority.expected_fingerprint)
                if authority.expected_fingerprint
                else "",
            }
        )
    return rows


def key_registered_message(request: HttpRequest, key: AuthorityKey) -> None:
    messages.success(
        request,
        _("Key %(sequence)s of the authority of %(member_state)s is registered and in the key log.")
        % {"sequence": key.sequence, "member_state": member_state_name(key.authority.member_state)},
    )


def certificate_member_state(document: object) -> str | None:
    body = document.get("key_certificate") if isinstance(document, dict) else None
    value = body.get("member_state") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def authorities_page(
    request: HttpRequest, template: str, form: forms.Form, errors: Errors, status: int
) -> HttpResponse:
    """A page listing every authority's key, with one form (the operator's or the registrar's)."""
    return render(
        request,
        template,
        {"form": form, "errors": errors, "authorities": authority_rows()},
        status=status,
    )


DESIGNATIONS_PAGE = "backoffice/registrar/designations.html"


@role_required(REGISTRAR)
def designations(request: HttpRequest) -> HttpResponse:
    return authorities_page(request, DESIGNATIONS_PAGE, DesignationForm(), {}, 200)


@require_POST
@role_required(REGISTRAR)
@require_recent_verification(minutes=10)
def designation_record(request: HttpRequest) -> HttpResponse:
    form = DesignationForm(request.POST)
    if not form.is_valid():
        return authorities_page(request, DESIGNATIONS_PAGE, form, form_errors(form), 422)
    data = form.cleaned_data
    try:
        authority_expect_key(
            scheme_code="eci",
            member_state=data["member_state"],
            fingerprint=data["fingerprint"],
            name=data["name"],
            designation=data["designation"],
            actor=request.user,
        )
    except DomainError as exc:
        return authorities_page(request, DESIGNATIONS_PAGE, form, exc.messages(), 422)
    messages.success(
        request,
        _("The designation is recorded: the key with this fingerprint can now be registered."),
    )
    return HttpResponseRedirect(reverse("backoffice:designations"))
