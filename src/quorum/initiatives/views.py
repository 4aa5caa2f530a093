from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import (
    initiative_get_public,
    initiative_is_collecting,
    initiative_list_public,
    initiative_member_state_rows,
)
from quorum.initiatives.signals import initiative_page_sections


def initiative_list(request: HttpRequest) -> HttpResponse:
    language = get_language()
    initiatives = [
        {
            "initiative": initiative,
            "title": initiative.text("title", language),
            "collecting": initiative_is_collecting(initiative),
        }
        for initiative in initiative_list_public()
    ]
    return render(request, "initiatives/list.html", {"initiatives": initiatives})


def initiative_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        initiative = initiative_get_public(slug=slug)
    except Initiative.DoesNotExist as exc:
        raise Http404 from exc
    language = get_language()
    return render(
        request,
        "initiatives/detail.html",
        {
            "initiative": initiative,
            "title": initiative.text("title", language),
            "objectives": initiative.text("objectives", language),
            "collecting": initiative_is_collecting(initiative),
            "translated": initiative.has_language(language),
            "text_language": language if initiative.has_language(language) else initiative.language,
            "member_states": initiative_member_state_rows(initiative),
            "sections": [
                html
                for _, html in initiative_page_sections.send(
                    sender=Initiative, initiative=initiative, request=request
                )
                if html
            ],
        },
    )
