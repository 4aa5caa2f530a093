"""Certified counts: what the authorities certified, and the verdict."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from quorum.api.public import public_read
from quorum.api.schemas import ErrorsOut
from quorum.initiatives.selectors import initiative_get_public
from quorum.verification.selectors import certified_counts

router = Router(tags=["verification"])


class CertifiedStateOut(Schema):
    certified: int | None
    threshold: int
    reached: bool


class CertifiedOut(Schema):
    by_member_state: dict[str, CertifiedStateOut]
    total: int
    states_reached: int
    verdict: str


@router.get(
    "/initiatives/{slug}/certified",
    response={200: CertifiedOut, 404: ErrorsOut},
    summary="Certified counts per Member State and the verdict",
    description="`verdict` is `successful`, `not_successful` (every expected certificate is in) or `pending`.",
)
def certified(request: HttpRequest, slug: str, response: HttpResponse) -> dict[str, object]:
    counts = certified_counts(initiative_get_public(slug=slug))
    verdict = (
        "successful" if counts.successful else "not_successful" if counts.complete else "pending"
    )
    public_read(response)
    return {
        "by_member_state": {
            row.code: {
                "certified": row.certified,
                "threshold": row.threshold,
                "reached": row.reached,
            }
            for row in counts.by_member_state
        },
        "total": counts.total,
        "states_reached": counts.states_reached,
        "verdict": verdict,
    }
