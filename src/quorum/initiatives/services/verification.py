"""Verification (Art. 12): the organisers' request, and what the certified counts decide."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from quorum.core.audit import Actor
from quorum.initiatives.models import Initiative
from quorum.initiatives.services.transitions import Status, transition


def initiative_request_verification(
    *, initiative: Initiative, actor: Actor = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 12(2): after collection, the organisers ask the authorities to verify."""
    return transition(
        initiative,
        from_statuses=(Status.COLLECTION_CLOSED,),
        to_status=Status.VERIFICATION,
        action="quorum.initiative.verification_requested",
        actor=actor,
        actor_label=actor_label,
        verification_requested_on=today or timezone.localdate(),
    )


def initiative_conclude_verification(
    *,
    initiative: Initiative,
    successful: bool,
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Certified counts decide: verified (the submission opens) or unsuccessful."""
    return transition(
        initiative,
        from_statuses=(Status.VERIFICATION,),
        to_status=Status.VERIFIED if successful else Status.UNSUCCESSFUL,
        action="quorum.initiative.verified" if successful else "quorum.initiative.unsuccessful",
        actor=actor,
        actor_label=actor_label,
        verified_on=today or timezone.localdate(),
    )
