from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language

from quorum.core.caching import cached_page
from quorum.core.i18n import member_state_name
from quorum.initiatives.labels import DEADLINE_LABELS, TIMELINE_LABELS
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import (
    PUBLIC_STATUSES,
    initiative_deadlines,
    initiative_get_public,
    initiative_is_collecting,
    initiative_member_state_rows,
    initiative_partners,
    initiative_public_organisers,
    initiative_search,
    initiative_timeline,
)
from quorum.initiatives.services.partners import partner_named
from quorum.initiatives.signals import initiative_page_sections


def _partner_code(request: HttpRequest, initiative: Initiative) -> str:
    """The partner's code when a partner's link led to this page, so that the Sign button and
    the paper forms keep it; "" for anything that is none of the partners' codes."""
    return partner_named(request.GET.get("via"), initiative_partners(initiative))


def _query(**values: str) -> str:
    kept = {name: value for name, value in values.items() if value}
    return "?" + urlencode(kept) if kept else ""


def initiative_list(request: HttpRequest) -> HttpResponse:
    language = get_language()
    query = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "")
    if status not in Initiative.Status.values:
        status = ""
    initiatives = [
        {
            "initiative": initiative,
            "title": initiative.text("title", language),
            "collecting": initiative_is_collecting(initiative),
        }
        for initiative in initiative_search(query=query, status=status)
    ]
    statuses = [
        (value, label) for value, label in Initiative.Status.choices if value in PUBLIC_STATUSES
    ]
    return render(
        request,
        "initiatives/list.html",
        {"initiatives": initiatives, "query": query, "status": status, "statuses": statuses},
    )


@cached_page
def initiative_detail(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    language = get_language()
    partner = _partner_code(request, initiative)
    return render(
        request,
        "initiatives/detail.html",
        {
            "initiative": initiative,
            "title": initiative.text("title", language),
            "objectives": initiative.text("objectives", language),
            "collecting": initiative_is_collecting(initiative),
            "sign_query": _query(via=partner),
            "paper_query": _query(lang=language, via=partner),
            "translated": initiative.has_language(language),
            "text_language": language if initiative.has_language(language) else initiative.language,
            "member_states": initiative_member_state_rows(initiative),
            "deadlines": _deadlines_ahead(initiative),
            "timeline": [
                {"when": entry.created_at, "what": TIMELINE_LABELS[entry.action]}
                for entry in initiative_timeline(initiative)
                if entry.action in TIMELINE_LABELS
            ],
            "sponsors": list(initiative.sponsors.all()),
            "organisers": [
                {
                    "name": member.full_name,
                    "role": member.get_role_display(),
                    "residence": member_state_name(member.residence),
                }
                for member in initiative_public_organisers(initiative)
            ],
            "sections": [
                html
                for _, html in initiative_page_sections.send(
                    sender=Initiative, initiative=initiative, request=request
                )
                if html
            ],
        },
    )


def _deadlines_ahead(initiative: Initiative) -> list[dict[str, object]]:
    today = timezone.localdate()
    return [
        {"label": DEADLINE_LABELS[name], "date": day}
        for name, day in sorted(initiative_deadlines(initiative).items(), key=lambda item: item[1])
        if day >= today and name in DEADLINE_LABELS
    ]
