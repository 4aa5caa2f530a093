"""Public signing pages: nationality and form on one page → review → receipt.

``/i/<slug>/sign/`` asks for the nationality; with JavaScript, choosing one brings that Member
State's fields into the same page (``signing.js`` fetches the form page below and swaps its
form in); without, Continue leads there. The form page posts to itself twice: first to be
checked and shown back in words (the review), then, confirmed, to be sealed. Every refusal —
a field, the anti-abuse check, the rate limit — answers with a page that still holds every
value typed.

A POST without the form's ``step`` marker and without ``confirm`` is submitted at once, as
before the review step existed: scripts and the API's own tests post that way; the review is
for people, and nothing is sealed that the service did not check.

Async views: a request waiting for the intake writer's durable commit holds no thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.core.clients import client_address
from quorum.core.errors import GENERAL, DomainError
from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_date
from quorum.core.origin import same_origin_form
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public, initiative_is_collecting
from quorum.ledger.sections import counts_section
from quorum.ledger.views import receipt_check_url
from quorum.proofs.key_certificate import format_fingerprint
from quorum.rules import Scheme, scheme
from quorum.rules.model import IdDocumentType
from quorum.signing import pow as proof_of_work
from quorum.signing.date_parts import PARTS, date_order, join_date, part_name
from quorum.signing.fields import ALL_FIELDS, FIELD_SPECS, fields_for
from quorum.signing.id_hints import document_hint
from quorum.signing.labels import (
    DATE_PART_LABELS,
    FIELD_HINTS,
    FIELD_LABELS,
    POW_NEEDS_JAVASCRIPT,
    date_example,
    field_id,
)
from quorum.signing.selectors import intake_target_async, partner_of
from quorum.signing.services import StatementInvalid, statement_errors, statement_submit
from quorum.signing.validation import PRIVACY_NOT_CONFIRMED

#: The form page's hidden marker: "check this and show it back", not "seal it".
STEP_FIELD, REVIEW_STEP = "step", "review"
CONFIRM_FIELD = "confirm"
CHANGE_FIELD = "change"
POW_FIELD = "altcha"
NATIONALITY = "nationality"
#: ``?via=<code>``: the coalition partner whose link the signatory came by.
VIA = "via"


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


def _nationalities(rules: Scheme) -> list[tuple[str, str]]:
    codes = rules.member_state_codes()
    return sorted(((code, member_state_name(code)) for code in codes), key=lambda item: item[1])


def _documents(rules: Scheme, member_state: str, today: date) -> tuple[IdDocumentType, ...]:
    return rules.member_state(member_state, registered=today).id_documents


def _needs(rules: Scheme, today: date) -> list[dict[str, object]]:
    """What a national of each Member State is asked for, to say before anything is typed."""
    return [
        {
            "code": code,
            "name": name,
            "part": rules.part(code),
            "documents": [doc.label for doc in _documents(rules, code, today)],
        }
        for code, name in _nationalities(rules)
    ]


def _kept(request: HttpRequest) -> list[tuple[str, str]]:
    """What of the address every step keeps: the partner's code; in a frame, the whole query
    (``?lang=`` too). The forms post to their own address, so a kept value reaches the intake."""
    if getattr(request, "embedded_signing", False):
        return [(name, request.GET.get(name, "")) for name in request.GET if name != NATIONALITY]
    via = request.GET.get(VIA, "")
    return [(VIA, via)] if via else []


def _kept_query(request: HttpRequest) -> str:
    kept = _kept(request)
    return f"?{urlencode(kept)}" if kept else ""


def _nationality_context(
    request: HttpRequest, initiative: Initiative, rules: Scheme, *, chosen: str, today: date
) -> dict[str, object]:
    return {
        **_base_context(initiative),
        "nationalities": _nationalities(rules),
        "chosen": chosen,
        "needs": _needs(rules, today),
        "collecting": initiative_is_collecting(initiative),
        "kept": _kept(request),
        "kept_query": _kept_query(request),
    }


async def sign_start(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = await _initiative(slug)
    rules = scheme(initiative.scheme)
    chosen = request.GET.get(NATIONALITY, "")
    if chosen in rules.member_state_codes():
        target = reverse("signing:form", args=[slug, chosen.lower()])
        return HttpResponseRedirect(target + _kept_query(request))
    context = _nationality_context(
        request, initiative, rules, chosen="", today=timezone.localdate()
    )
    context["error"] = (
        _("Choose the Member State of your nationality.") if NATIONALITY in request.GET else ""
    )
    return render(request, "signing/start.html", context, status=400 if context["error"] else 200)


# --- what was typed ------------------------------------------------------------------------


class Typed:
    """Every value of a POST, as typed: the statement's fields and the date's three parts."""

    def __init__(self, post: QueryDict | None = None) -> None:
        self.values: dict[str, str] = {}
        self.date_parts: dict[str, str] = dict.fromkeys(PARTS, "")
        self.date_errors: list[Promise] = []
        self.wrong_date_parts: set[str] = set()
        if post is None:
            return
        for name in ALL_FIELDS - {"date_of_birth"}:
            if name in post:
                self.values[name] = post.get(name, "")
        if any(part_name(part) in post for part in PARTS):
            self.date_parts = {part: post.get(part_name(part), "") for part in PARTS}
            joined = join_date(**self.date_parts)
            self.values["date_of_birth"] = joined.iso
            self.date_errors, self.wrong_date_parts = joined.errors, joined.wrong
        elif "date_of_birth" in post:
            # One ISO field, as the API and older pages send it.
            iso = post.get("date_of_birth", "")
            self.values["date_of_birth"] = iso
            year, _sep, rest = iso.partition("-")
            month, _sep, day = rest.partition("-")
            self.date_parts = {"day": day, "month": month, "year": year}
        self.privacy_read = post.get("privacy_read") == "yes"
        self.altcha = post.get(POW_FIELD, "")

    privacy_read = False
    altcha = ""

    def hidden(self) -> list[tuple[str, str]]:
        """Every value as (name, value) for the review page's hidden fields."""
        pairs = [(name, value) for name, value in sorted(self.values.items())]
        if "date_of_birth" in self.values:
            pairs = [(n, v) for n, v in pairs if n != "date_of_birth"]
            pairs += [(part_name(part), self.date_parts[part]) for part in PARTS]
        if self.privacy_read:
            pairs.append(("privacy_read", "yes"))
        return pairs


def _form_fields(
    rules: Scheme,
    member_state: str,
    today: date,
    typed: Typed,
    errors: dict[str, list[str]],
    focus: str = "",
) -> list[dict[str, object]]:
    documents = _documents(rules, member_state, today)
    order = date_order()
    fields = []
    for name in fields_for(rules, member_state):
        field: dict[str, object] = {
            "name": name,
            "id": field_id(name),
            "label": FIELD_LABELS[name],
            "hint": FIELD_HINTS.get(name, ""),
            "value": typed.values.get(name, ""),
            "errors": errors.get(name, []),
            "choices": [(doc.code, doc.label) for doc in documents] if name == "id_type" else None,
            "autocomplete": FIELD_SPECS[name].autocomplete,
            "max_length": FIELD_SPECS[name].max_length,
            "autofocus": name == focus,
        }
        if name == "date_of_birth":
            field["hint"] = date_example(order)
            field["parts"] = [
                {
                    "part": part,
                    "name": part_name(part),
                    "id": f"{field_id(name)}-{part}",
                    "label": DATE_PART_LABELS[part],
                    "value": typed.date_parts[part],
                    "wrong": bool(field["errors"])
                    and (not typed.wrong_date_parts or part in typed.wrong_date_parts),
                    "width": 4 if part == "year" else 2,
                    "autocomplete": f"bday-{part}",
                }
                for part in order
            ]
        if name == "id_number":
            field["document_hints"] = [
                {"code": doc.code, "label": doc.label, "hint": document_hint(doc)}
                for doc in documents
            ]
            field["chosen_type"] = typed.values.get("id_type", "")
        fields.append(field)
    return fields


def _error_target(name: str, fields: list[dict[str, object]]) -> str:
    """The id a summary link leads to: the field, or the first wrong part of the date."""
    for field in fields:
        if field["name"] == name:
            parts = field.get("parts")
            if isinstance(parts, list):
                wrong = [part for part in parts if part["wrong"]] or parts
                return str(wrong[0]["id"])
            return str(field["id"])
    if name in (POW_FIELD, "privacy_read", NATIONALITY):
        return field_id(name)
    return ""


async def _sealing_fingerprint(slug: str, member_state: str) -> str:
    """The fingerprint of the key this Member State's statements are sealed to, for the curious."""
    target = await intake_target_async(slug=slug)
    key = target.sealing_keys.get(member_state) if target is not None else None
    return format_fingerprint(key.fingerprint) if key is not None else ""


async def _partner(request: HttpRequest, slug: str) -> dict[str, str] | None:
    """The partner whose link this is (code and name), to say so before anything is signed;
    None when the address names none of the initiative's partners."""
    target = await intake_target_async(slug=slug)
    code = partner_of(target, request.GET.get(VIA))
    if not code or target is None:
        return None
    return {"code": code, "name": target.partners[code]}


def _error_list(
    errors: dict[str, list[str]], fields: list[dict[str, object]]
) -> list[dict[str, object]]:
    return [
        {
            "id": _error_target(name, fields),
            "label": FIELD_LABELS.get(name, ""),
            "message": message,
        }
        for name, messages in errors.items()
        for message in messages
    ]


def _no_store(response: HttpResponse, retry_after: int | None = None) -> HttpResponse:
    # What was typed is on these pages: no cache may keep them.
    response["Cache-Control"] = "no-store"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@dataclass(frozen=True)
class Page:
    """What every page of one signing shows: the initiative, its rules, the nationality, the day."""

    initiative: Initiative
    rules: Scheme
    code: str
    today: date


async def _render_form(
    request: HttpRequest,
    page: Page,
    *,
    typed: Typed,
    errors: dict[str, list[str]],
    status: int = 200,
    retry_after: int | None = None,
    focus: str = "",
) -> HttpResponse:
    initiative, rules, code, today = page.initiative, page.rules, page.code, page.today
    fields = _form_fields(rules, code, today, typed, errors, focus)
    context = _nationality_context(request, initiative, rules, chosen=code, today=today)
    context.update(
        partner=await _partner(request, initiative.slug),
        member_state=code,
        member_state_name=member_state_name(code),
        part=rules.part(code),
        documents=[doc.label for doc in _documents(rules, code, today)],
        fields=fields,
        errors=errors,
        error_list=_error_list(errors, fields),
        privacy_read=typed.privacy_read,
        focus=focus,
        retention_latest=rules.retention_end(initiative.collection_start)
        if initiative.collection_start
        else None,
        pow_scope=f"statement:{initiative.slug}",
        german_residence_note=code == "DE",
        sealing_fingerprint=await _sealing_fingerprint(initiative.slug, code),
    )
    response = render(request, "signing/form.html", context, status=status)
    return _no_store(response, retry_after)


def _review_rows(rules: Scheme, code: str, today: date, typed: Typed) -> list[dict[str, object]]:
    documents = {doc.code: doc.label for doc in _documents(rules, code, today)}
    rows: list[dict[str, object]] = [
        {"name": NATIONALITY, "label": FIELD_LABELS[NATIONALITY], "value": member_state_name(code)}
    ]
    for name in fields_for(rules, code):
        value = typed.values.get(name, "")
        if name == "date_of_birth":
            value = local_date(date.fromisoformat(value))
        elif name == "id_type":
            value = documents.get(value, value)
        rows.append({"name": name, "label": FIELD_LABELS[name], "value": value})
    return rows


async def _render_review(
    request: HttpRequest,
    page: Page,
    *,
    typed: Typed,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> HttpResponse:
    partner = await _partner(request, page.initiative.slug)
    initiative, rules, code, today = page.initiative, page.rules, page.code, page.today
    errors = errors or {}
    context = {
        **_base_context(initiative),
        "member_state": code,
        "member_state_name": member_state_name(code),
        "rows": _review_rows(rules, code, today, typed),
        "hidden": typed.hidden(),
        # A refused solution is not sent again: the page solves a new one (pow.js).
        "altcha": "" if POW_FIELD in errors else typed.altcha,
        "error_list": [
            {"id": field_id(POW_FIELD) if name == POW_FIELD else "", "label": "", "message": m}
            for name, messages in errors.items()
            for m in messages
        ],
        "pow_scope": f"statement:{initiative.slug}",
        "partner": partner,
    }
    response = render(request, "signing/review.html", context, status=status)
    return _no_store(response, retry_after)


#: Refusals that a press of "Confirm" again can cure: they keep the review page.
_RETRY_ON_REVIEW = frozenset({POW_FIELD, GENERAL})


@same_origin_form
async def sign_form(request: HttpRequest, slug: str, member_state: str) -> HttpResponse:
    initiative = await _initiative(slug)
    rules = scheme(initiative.scheme)
    code = member_state.upper()
    if code not in rules.member_state_codes() or member_state != member_state.lower():
        raise Http404
    today = timezone.localdate()
    page = Page(initiative=initiative, rules=rules, code=code, today=today)
    if request.method != "POST":
        return await _render_form(request, page, typed=Typed(), errors={})

    typed = Typed(request.POST)
    if CHANGE_FIELD in request.POST:
        # "Change" on the review page: back to the form, every value in place.
        focus = request.POST.get(CHANGE_FIELD, "")
        return await _render_form(request, page, typed=typed, errors={}, focus=focus)

    data: dict[str, object] = {
        **typed.values,
        NATIONALITY: code,
        POW_FIELD: typed.altcha,
        VIA: request.GET.get(VIA, ""),
    }
    confirmed = request.POST.get(CONFIRM_FIELD) == "yes"
    reviewing = not confirmed and request.POST.get(STEP_FIELD) == REVIEW_STEP
    if reviewing or not typed.privacy_read or typed.date_errors:
        # Show every problem at once, without using up the proof of work.
        problems = await sync_to_async(statement_errors)(slug=slug, data=data, today=today)
        errors = StatementInvalid(problems).messages() if problems else {}
        if typed.date_errors:
            errors["date_of_birth"] = [str(reason) for reason in typed.date_errors]
        if not typed.privacy_read:
            errors["privacy_read"] = [_(PRIVACY_NOT_CONFIRMED)]
        if reviewing and proof_of_work.pow_enabled() and not typed.altcha:
            errors[POW_FIELD] = [str(POW_NEEDS_JAVASCRIPT)]
        if errors:
            errors = _in_form_order(errors, rules, code)
            return await _render_form(request, page, typed=typed, errors=errors, status=422)
        if reviewing:
            return await _render_review(request, page, typed=typed)

    try:
        receipt = await statement_submit(
            slug=slug, data=data, language=get_language(), client_address=client_address(request)
        )
    except DomainError as exc:
        # Every refusal keeps what was typed, with its reason and status: on the review page
        # when pressing Confirm again (after a wait, or with a new anti-abuse check) cures it,
        # on the form when a field must change.
        errors = exc.messages()
        if confirmed and set(errors) <= _RETRY_ON_REVIEW:
            return await _render_review(
                request,
                page,
                typed=typed,
                errors=errors,
                status=exc.status,
                retry_after=exc.retry_after,
            )
        return await _render_form(
            request,
            page,
            typed=typed,
            errors=_in_form_order(errors, rules, code),
            status=exc.status,
            retry_after=exc.retry_after,
        )
    context = {
        **_base_context(initiative),
        **await _after_signing(request, initiative, receipt.value),
    }
    return _no_store(render(request, "signing/receipt.html", context))


async def _after_signing(
    request: HttpRequest, initiative: Initiative, receipt: str
) -> dict[str, object]:
    """What the page right after signing needs beyond the receipt: where to check it, what to
    share (the initiative's public page, never the receipt) and the live counts."""
    title = initiative.text("title", get_language())
    share_url = request.build_absolute_uri(
        reverse("initiatives:detail", kwargs={"slug": initiative.slug})
    )
    share_text = _("Support the European Citizens' Initiative “%(title)s”:") % {"title": title}
    mail = urlencode({"subject": title, "body": f"{share_text}\n{share_url}"}, quote_via=quote)
    counts = await sync_to_async(counts_section)(Initiative, initiative=initiative, request=request)
    return {
        "receipt": receipt,
        "check_url": receipt_check_url(request, initiative.slug, receipt),
        "share_url": share_url,
        "share_text": share_text,
        "share_mail_href": f"mailto:?{mail}",
        "counts_section": counts,
    }


def _in_form_order(errors: dict[str, list[str]], rules: Scheme, code: str) -> dict[str, list[str]]:
    """The errors in the order of the fields on the page, so that the summary reads down it."""
    order = [GENERAL, NATIONALITY, *fields_for(rules, code), "privacy_read", POW_FIELD]
    rank = {name: position for position, name in enumerate(order)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(order))))
