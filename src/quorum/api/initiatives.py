"""The public register as JSON."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Query, Router, Schema

from quorum.api.public import public_read
from quorum.api.schemas import ErrorsOut
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import (
    initiative_deadlines,
    initiative_get_public,
    initiative_search,
)

router = Router(tags=["initiatives"])


class InitiativeOut(Schema):
    slug: str
    scheme: str
    status: str
    registration_number: str
    registration_date: date | None
    collection_start: date | None
    collection_end: date | None
    title: str
    languages: list[str]
    deadlines: dict[str, date]


class InitiativeDetailOut(InitiativeOut):
    objectives: str
    title_translations: dict[str, str]
    objectives_translations: dict[str, str]
    sponsors: list[dict[str, str]]


class RegisterQuery(Schema):
    q: str = ""
    status: str = ""


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _summary(initiative: Initiative, language: str) -> dict[str, object]:
    return {
        "slug": initiative.slug,
        "scheme": initiative.scheme,
        "status": initiative.status,
        "registration_number": initiative.registration_number,
        "registration_date": _iso(initiative.registration_date),
        "collection_start": _iso(initiative.collection_start),
        "collection_end": _iso(initiative.collection_end),
        "title": initiative.text("title", language),
        "languages": initiative.languages(),
        "deadlines": {
            name: day.isoformat() for name, day in initiative_deadlines(initiative).items()
        },
    }


@router.get("/initiatives", response=list[InitiativeOut], summary="The public register")
def initiative_list(
    request: HttpRequest, query: Query[RegisterQuery], response: HttpResponse
) -> list[dict[str, object]]:
    language = get_language()
    initiatives = initiative_search(query=query.q[:200], status=query.status[:40])
    public_read(response)
    return [_summary(i, language) for i in initiatives]


@router.get(
    "/initiatives/{slug}",
    response={200: InitiativeDetailOut, 404: ErrorsOut},
    summary="One initiative",
)
def initiative_detail(request: HttpRequest, slug: str, response: HttpResponse) -> dict[str, object]:
    initiative = initiative_get_public(slug=slug)
    language = get_language()
    public_read(response)
    return {
        **_summary(initiative, language),
        "objectives": initiative.text("objectives", language),
        "title_translations": initiative.title,
        "objectives_translations": initiative.objectives,
        "sponsors": [
            {"name": s.name, "amount_eur": str(s.amount_eur), "date": s.received_on.isoformat()}
            for s in initiative.sponsors.all()
        ],
    }
