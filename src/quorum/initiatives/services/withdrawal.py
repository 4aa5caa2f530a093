"""Withdrawal (Art. 7): the organisers may withdraw at any time before the submission."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from quorum.core.audit import Actor
from quorum.initiatives.models import Initiative
from quorum.initiatives.services.transitions import BEFORE_SUBMISSION, Status, transition


def initiative_withdraw(
    *, initiative: Initiative, actor: Actor = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 7: at any time before the submission to the Commission."""
    return transition(
        initiative,
        from_statuses=BEFORE_SUBMISSION,
        to_status=Status.WITHDRAWN,
        action="quorum.initiative.withdrawn",
        actor=actor,
        actor_label=actor_label,
        withdrawn_on=today or timezone.localdate(),
    )
