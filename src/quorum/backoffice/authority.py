"""The authorities' staff: their initiatives under verification, their batch, their certificate.

Every view first asks ``staff_authority``: anyone who is not staff of *that* Member State's
authority gets a 404, whatever else they are. A batch holds only the ciphertexts of the
authority's own Member State (the other lines are public leaf data).
"""

from __future__ import annotations

import io
import json
import tempfile
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from quorum.accounts.decorators import login_and_2fa_required, require_recent_verification
from quorum.authorities.models import Authority
from quorum.authorities.services import authority_key_register
from quorum.backoffice.access import staff_authority
from quorum.backoffice.errors import form_errors
from quorum.backoffice.forms import CertificateUploadForm
from quorum.backoffice.keys import (
    KeyCertificateForm,
    certificate_member_state,
    key_registered_message,
)
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name
from quorum.initiatives.models import Initiative
from quorum.proofs.key_certificate import format_fingerprint
from quorum.verification.selectors import certified_counts, verification_round
from quorum.verification.services import batch_export, certificate_import

#: A certificate is a few kilobytes; anything near this is not one. Below the back office's
#: body limit, so that a too-large file gets this page's explanation rather than a bare 413.
MAX_CERTIFICATE_BYTES = 64 * 1024
#: Batches up to this size are built in memory; larger ones spill to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024

Errors = dict[str, list[str]]


def _under_verification(authority: Authority) -> list[dict[str, Any]]:
    language = get_language()
    rows = []
    for initiative in Initiative.objects.filter(
        status=Initiative.Status.VERIFICATION, scheme=authority.scheme
    ).order_by("slug"):
        round_ = verification_round(initiative)
        if round_ is None:
            continue
        certified = next(
            (
                row.certified
                for row in certified_counts(initiative).by_member_state
                if row.code == authority.member_state
            ),
            None,
        )
        rows.append(
            {
                "initiative": initiative,
                "title": initiative.text("title", language),
                "statements": round_.statements.get(authority.member_state, 0),
                "certified": certified,
            }
        )
    return rows


def render_home(
    request: HttpRequest,
    authority: Authority,
    *,
    form: CertificateUploadForm | None = None,
    key_form: KeyCertificateForm | None = None,
    errors: Errors | None = None,
) -> HttpResponse:
    """The authority's page; ``errors`` (422) belong to whichever form was sent."""
    key = authority.current_key
    context = {
        "key": key,
        "fingerprint": format_fingerprint(key.fingerprint) if key else "",
        "key_form": key_form or KeyCertificateForm(prefix="key"),
        "authority": authority,
        "member_state_name": member_state_name(authority.member_state),
        "initiatives": _under_verification(authority),
        "form": form or CertificateUploadForm(),
        "errors": errors or {},
        "max_kilobytes": MAX_CERTIFICATE_BYTES // 1024,
    }
    return render(request, "backoffice/authority/home.html", context, status=422 if errors else 200)


@login_and_2fa_required
def home(request: HttpRequest, member_state: str) -> HttpResponse:
    return render_home(request, staff_authority(request, member_state))


@require_GET
@require_recent_verification(minutes=10)
def batch_download(request: HttpRequest, member_state: str, slug: str) -> FileResponse:
    authority = staff_authority(request, member_state)
    initiative = Initiative.objects.filter(
        slug=slug, scheme=authority.scheme, status=Initiative.Status.VERIFICATION
    ).first()
    if initiative is None or verification_round(initiative) is None:
        raise Http404
    code = authority.member_state
    # FileResponse closes the file once it is sent.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    try:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="\n", write_through=True)
        # The service writes the audit entry once the whole batch is written.
        batch_export(initiative=initiative, member_state=code, out=text, actor=request.user)
        text.flush()
        text.detach()
        spool.seek(0)
    except DomainError as exc:
        spool.close()
        raise Http404 from exc
    except BaseException:
        spool.close()
        raise
    response = FileResponse(
        spool,
        as_attachment=True,
        filename=f"{initiative.slug}-{code}.batch",
        content_type="application/x-ndjson",
    )
    response["Cache-Control"] = "no-store"
    return response


def _parse_certificate(upload: Any) -> object:
    """The uploaded file as JSON, or a DomainError with a reason the staff can act on."""
    if upload.size is not None and upload.size > MAX_CERTIFICATE_BYTES:
        raise DomainError(_("This file is too large to be a certificate."))
    raw = upload.read(MAX_CERTIFICATE_BYTES + 1)
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise DomainError(_("This file is too large to be a certificate."))
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DomainError(_("This file is not a certificate: it is not valid JSON.")) from exc


def _check_own(document: object, authority: Authority) -> None:
    """Staff upload their own authority's certificates only."""
    certificate = document.get("certificate") if isinstance(document, dict) else None
    if not isinstance(certificate, dict):
        return  # certificate_import refuses it with its own reason
    if certificate.get("member_state") != authority.member_state:
        raise DomainError(_("This certificate is for another Member State than your authority's."))
    if certificate.get("scheme") != authority.scheme:
        raise DomainError(_("This certificate is for another scheme than your authority's."))


@require_POST
@require_recent_verification(minutes=10)
def certificate_upload(request: HttpRequest, member_state: str) -> HttpResponse:
    authority = staff_authority(request, member_state)
    form = CertificateUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = form_errors(form)
        return render_home(request, authority, form=form, errors=errors)
    try:
        document = _parse_certificate(form.cleaned_data["certificate"])
        _check_own(document, authority)
        certificate = certificate_import(document=document, actor=request.user)
    except DomainError as exc:
        return render_home(
            request, authority, form=form, errors={"certificate": [str(exc.message)]}
        )
    messages.success(
        request,
        _("The certificate is accepted: %(valid)d valid statements.")
        % {"valid": certificate.valid_statements},
    )
    return HttpResponseRedirect(reverse("backoffice:authority-home", args=[authority.member_state]))


@require_POST
@require_recent_verification(minutes=10)
def staff_key_upload(request: HttpRequest, member_state: str) -> HttpResponse:
    """The authority's own staff hand on a key certificate of their authority (a rotation)."""
    authority = staff_authority(request, member_state)
    form = KeyCertificateForm(request.POST, request.FILES, prefix="key")
    if not form.is_valid():
        return render_home(request, authority, key_form=form, errors=form_errors(form))
    document = form.cleaned_data["certificate"]
    try:
        if certificate_member_state(document) != authority.member_state:
            raise DomainError(_("This key certificate is for another Member State's authority."))
        key = authority_key_register(certificate=document, actor=request.user)
    except DomainError as exc:
        return render_home(request, authority, key_form=form, errors=exc.messages())
    key_registered_message(request, key)
    return HttpResponseRedirect(reverse("backoffice:authority-home", args=[authority.member_state]))
