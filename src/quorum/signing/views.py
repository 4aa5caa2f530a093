"""Public signing pages: choose nationality → fill the form → receipt.

Async views: a request waiting for the intake writer's durable commit holds no thread.
"""

from __future__ import annotations

from datetime import date

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.core.clients import client_address
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name
from quorum.core.origin import same_origin_form
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public, initiative_is_collecting
from quorum.proofs.key_certificate import format_fingerprint
from quorum.rules import Scheme, scheme
from quorum.signing.fields import ALL_FIELDS, FIELD_SPECS, fields_for
from quorum.signing.labels import FIELD_HINTS, FIELD_LABELS, field_id
from quorum.signing.selectors import intake_target_async
from quorum.signing.services import StatementInvalid, statement_errors, statement_submit
from quorum.signing.validation import PRIVACY_NOT_CONFIRMED


async def _initiative(slug: str) -> Initiative:
    return await sync_to_async(initiative_get_public)(slug=slug)


def _base_context(initiative: Initiative) -> dict[str, object]:
    language = get_language()
    return {
        "initiative": initiative,
        "title": initiative.text("title", language),
        "objectives": initiative.text("objectives", language),
        "text_language": language if initiative.has_language(language) else initiative.language,
    }


def _nationalities(initiative: Initiative) -> list[tuple[str, str]]:
    codes = scheme(initiative.scheme).member_state_codes()
    return sorted(((code, member_state_name(code)) for code in codes), key=lambda item: item[1])


async def sign_start(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = await _initiative(slug)
    chosen = request.GET.get("nationality", "")
    codes = scheme(initiative.scheme).member_state_codes()
    if chosen in codes:
        return HttpResponseRedirect(reverse("signing:form", args=[slug, chosen.lower()]))
    context = _base_context(initiative)
    context.update(
        nationalities=_nationalities(initiative),
        collecting=initiative_is_collecting(initiative),
        error=_("Choose the Member State of your nationality.")
        if "nationality" in request.GET
        else "",
    )
    return render(request, "signing/start.html", context, status=400 if context["error"] else 200)


def _form_fields(
    rules: Scheme, member_state: str, today: date, values: dict[str, str], errors: dict
) -> list[dict]:
    documents = rules.member_state(member_state, registered=today).id_documents
    fields = []
    for name in fields_for(rules, member_state):
        fields.append(
            {
                "name": name,
                "id": field_id(name),
                "label": FIELD_LABELS[name],
                "hint": FIELD_HINTS.get(name, ""),
                "value": values.get(name, ""),
                "errors": errors.get(name, []),
                "choices": [(doc.code, doc.label) for doc in documents]
                if name == "id_type"
                else None,
                "autocomplete": FIELD_SPECS[name].autocomplete,
                "max_length": FIELD_SPECS[name].max_length,
            }
        )
    return fields


async def _sealing_fingerprint(slug: str, member_state: str) -> str:
    """The fingerprint of the key this Member State's statements are sealed to, for the curious."""
    target = await intake_target_async(slug=slug)
    key = target.sealing_keys.get(member_state) if target is not None else None
    return format_fingerprint(key.fingerprint) if key is not None else ""


@same_origin_form
async def sign_form(request: HttpRequest, slug: str, member_state: str) -> HttpResponse:
    initiative = await _initiative(slug)
    rules = scheme(initiative.scheme)
    code = member_state.upper()
    if code not in rules.member_state_codes() or member_state != member_state.lower():
        raise Http404
    today = timezone.localdate()
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in ALL_FIELDS if name in request.POST}
        data: dict[str, object] = {
            **values,
            "nationality": code,
            "altcha": request.POST.get("altcha", ""),
        }
        privacy_read = request.POST.get("privacy_read") == "yes"
        try:
            if not privacy_read:
                # Show every problem at once, without using up the proof of work.
                problems = await sync_to_async(statement_errors)(slug=slug, data=data, today=today)
                problems["privacy_read"] = [PRIVACY_NOT_CONFIRMED]
                raise StatementInvalid(problems)
            receipt = await statement_submit(
                slug=slug,
                data=data,
                language=get_language(),
                client_address=client_address(request),
            )
        except DomainError as exc:
            # Every refusal keeps what was typed, on the form, with its reason and status.
            errors, status, retry_after = exc.messages(), exc.status, exc.retry_after
        else:
            context = {**_base_context(initiative), "receipt": receipt.value}
            response = render(request, "signing/receipt.html", context)
            response["Cache-Control"] = "no-store"
            return response
    fields = _form_fields(rules, code, today, values, errors)
    # Every summary link must lead to an element on this page.
    on_page = {field["name"] for field in fields} | {"privacy_read", "altcha"}
    context = _base_context(initiative)
    context.update(
        member_state=code,
        member_state_name=member_state_name(code),
        part=rules.part(code),
        collecting=initiative_is_collecting(initiative),
        fields=fields,
        errors=errors,
        error_list=[
            {
                "id": field_id(name) if name in on_page else "",
                "label": FIELD_LABELS.get(name, ""),
                "message": message,
            }
            for name, messages in errors.items()
            for message in messages
        ],
        retention_latest=rules.retention_end(initiative.collection_start)
        if initiative.collection_start
        else None,
        pow_scope=f"statement:{slug}",
        german_residence_note=code == "DE",
        sealing_fingerprint=await _sealing_fingerprint(slug, code),
    )
    response = render(request, "signing/form.html", context, status=status)
    response["Cache-Control"] = "no-store"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
