from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from quorum.core.i18n import member_state_name
from quorum.initiatives.models import Initiative
from quorum.rules import scheme

PUBLIC_STATUSES = (
    Initiative.Status.REGISTERED,
    Initiative.Status.COLLECTING,
    Initiative.Status.COLLECTION_CLOSED,
    Initiative.Status.VERIFICATION,
    Initiative.Status.VERIFIED,
    Initiative.Status.SUBMITTED,
    Initiative.Status.ANSWERED,
    Initiative.Status.UNSUCCESSFUL,
    Initiative.Status.WITHDRAWN,
)


@dataclass(frozen=True)
class MemberStateRow:
    code: str
    name: str
    seats: int
    threshold: int
    part: str
    min_age: int


def initiative_list_public() -> QuerySet[Initiative]:
    return Initiative.objects.filter(status__in=PUBLIC_STATUSES)


def initiative_get_public(*, slug: str) -> Initiative:
    """The initiative, if the public may see it; Initiative.DoesNotExist otherwise."""
    return initiative_list_public().get(slug=slug)


def initiative_is_collecting(initiative: Initiative, *, today: date | None = None) -> bool:
    day = today or timezone.localdate()
    return (
        initiative.status == Initiative.Status.COLLECTING
        and initiative.collection_start is not None
        and initiative.collection_end is not None
        and initiative.collection_start <= day <= initiative.collection_end
    )


def initiative_member_state_rows(
    initiative: Initiative, *, on: date | None = None
) -> list[MemberStateRow]:
    """Thresholds of the Annex I table fixed by the registration date; ages on `on`."""
    if initiative.registration_date is None:
        return []
    rules = scheme(initiative.scheme)
    day = on or timezone.localdate()
    return [
        MemberStateRow(
            code=ms.code,
            name=member_state_name(ms.code),
            seats=ms.seats,
            threshold=ms.threshold,
            part=ms.part,
            min_age=rules.min_age(ms.code, on=day),
        )
        for ms in rules.member_states(registered=initiative.registration_date)
    ]
