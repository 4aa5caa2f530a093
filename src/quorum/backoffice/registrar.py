"""The registrar's side: the queue of requests, one initiative's file, and the decisions on it.

Every view needs the registrar role (and both factors); the decisions that change an
initiative's legal standing (registration, extension, the follow-up) also need a code
confirmed within the last ten minutes. Errors re-render the file with a summary (422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quorum.accounts.decorators import require_recent_verification, role_required
from quorum.accounts.roles import REGISTRAR
from quorum.backoffice.access import registrar_initiative, registrar_initiatives
from quorum.backoffice.errors import Errors, form_errors
from quorum.backoffice.forms import DecisionForm, ExtensionForm, FollowUpForm, TranslationForm
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name
from quorum.initiatives import services as lifecycle
from quorum.initiatives.labels import DEADLINE_LABELS, TIMELINE_LABELS
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import (
    initiative_audit_log,
    initiative_deadlines,
    registration_requests,
)

Status = Initiative.Status
LANGUAGE_NAMES = dict(settings.LANGUAGES)
EXTENDABLE = (Status.REGISTERED, Status.COLLECTING, Status.COLLECTION_CLOSED)


@role_required(REGISTRAR)
def queue(request: HttpRequest) -> HttpResponse:
    language = get_language()
    today = timezone.localdate()
    requests = []
    for initiative in registration_requests():
        due = initiative_deadlines(initiative).get("registration_answer_due")
        requests.append(
            {
                "initiative": initiative,
                "title": initiative.text("title", language),
                "due": due,
                "overdue": due is not None and due < today,
            }
        )
    others = [
        {"initiative": initiative, "title": initiative.text("title", language)}
        for initiative in registrar_initiatives()
        .exclude(status=Status.REGISTRATION_REQUESTED)
        .order_by("-registration_date", "slug")
    ]
    return render(
        request, "backoffice/registrar/queue.html", {"requests": requests, "others": others}
    )


def _render_detail(
    request: HttpRequest,
    initiative: Initiative,
    *,
    errors: Errors | None = None,
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    language = get_language()
    today = timezone.localdate()
    forms_ = {
        "decision": DecisionForm(),
        "translation": TranslationForm(),
        "extension": ExtensionForm(),
        "follow_up": FollowUpForm(),
        **(bound or {}),
    }
    context = {
        "initiative": initiative,
        "Status": Status,
        "title": initiative.text("title", language),
        "texts": [
            {
                "language": code,
                "language_name": LANGUAGE_NAMES.get(code, code),
                "title": initiative.title.get(code, ""),
                "objectives": initiative.objectives.get(code, ""),
                "annex": initiative.annex.get(code, ""),
                "original": code == initiative.language,
            }
            for code in initiative.languages()
        ],
        "members": [
            {
                "member": member,
                "nationality": member_state_name(member.nationality),
                "residence": member_state_name(member.residence),
            }
            for member in initiative.organisers.all()
        ],
        "deadlines": [
            {"label": DEADLINE_LABELS[name], "date": day, "past": day < today}
            for name, day in sorted(initiative_deadlines(initiative).items(), key=lambda i: i[1])
            if name in DEADLINE_LABELS
        ],
        "extensions": list(initiative.extensions.all()),
        "audit": [
            {"entry": entry, "label": TIMELINE_LABELS.get(entry.action, "")}
            for entry in initiative_audit_log(initiative)
        ],
        "can_decide": initiative.status == Status.REGISTRATION_REQUESTED,
        "can_extend": initiative.status in EXTENDABLE,
        "can_follow_up": initiative.status == Status.SUBMITTED,
        "forms": forms_,
        "errors": errors or {},
    }
    return render(
        request, "backoffice/registrar/detail.html", context, status=422 if errors else 200
    )


@role_required(REGISTRAR)
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_detail(request, registrar_initiative(request, slug))


def _act(
    request: HttpRequest,
    slug: str,
    *,
    name: str,
    form_class: type[forms.Form],
    action: Callable[[Initiative, dict[str, Any]], Any],
    success: str,
) -> HttpResponse:
    """Parse ``form_class``, call the service, redirect; or show the file again with errors."""
    initiative = registrar_initiative(request, slug)
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_detail(request, initiative, errors=form_errors(form), bound={name: form})
    try:
        action(initiative, form.cleaned_data)
    except DomainError as exc:
        initiative.refresh_from_db()
        return _render_detail(request, initiative, errors=exc.messages(), bound={name: form})
    messages.success(request, success)
    return HttpResponseRedirect(reverse("backoffice:registrar-detail", args=[slug]))


@require_POST
@role_required(REGISTRAR)
@require_recent_verification(minutes=10)
def decide(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        name="decision",
        form_class=DecisionForm,
        action=lambda initiative, data: lifecycle.initiative_decide_registration(
            initiative=initiative, actor=request.user, **data
        ),
        success=_("The decision is recorded."),
    )


@require_POST
@role_required(REGISTRAR)
def translation(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        name="translation",
        form_class=TranslationForm,
        action=lambda initiative, data: lifecycle.initiative_add_translation(
            initiative=initiative, actor=request.user, **data
        ),
        success=_("The translation is published."),
    )


@require_POST
@role_required(REGISTRAR)
@require_recent_verification(minutes=10)
def extension(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        name="extension",
        form_class=ExtensionForm,
        action=lambda initiative, data: lifecycle.initiative_record_extension(
            initiative=initiative, actor=request.user, **data
        ),
        success=_("The extension of the collection period is recorded."),
    )


@require_POST
@role_required(REGISTRAR)
@require_recent_verification(minutes=10)
def follow_up(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        name="follow_up",
        form_class=FollowUpForm,
        action=lambda initiative, data: lifecycle.initiative_record_follow_up(
            initiative=initiative, actor=request.user, **data
        ),
        success=_("The follow-up is recorded."),
    )
