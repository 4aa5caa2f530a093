"""After verification (Art. 13–15): the submission to the Commission and what follows it."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor
from quorum.initiatives.models import Initiative
from quorum.initiatives.services.checks import InvalidRequest, check_characters
from quorum.initiatives.services.transitions import Status, initiative_lock, transition

FOLLOW_UP_STEPS = ("meeting", "hearing", "communication")


def initiative_submit_to_commission(
    *, initiative: Initiative, actor: Actor = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 13: once certified counts exist (the initiative is "verified")."""
    day = today or timezone.localdate()
    return transition(
        initiative,
        from_statuses=(Status.VERIFIED,),
        to_status=Status.SUBMITTED,
        action="quorum.initiative.submitted",
        actor=actor,
        actor_label=actor_label,
        submitted_on=day,
        published_on=day,
    )


@transaction.atomic
def initiative_record_follow_up(
    *,
    initiative: Initiative,
    step: str,
    on: date,
    url: str = "",
    actor: Actor = None,
    actor_label: str = "",
) -> Initiative:
    """The registrar records the meeting, the hearing or the communication (the answer)."""
    if step not in FOLLOW_UP_STEPS:
        raise InvalidRequest({"step": [_("Choose meeting, hearing or communication.")]})
    if errors := check_characters({}, "url", url):
        raise InvalidRequest(errors)
    submitted_on = initiative_lock(initiative).submitted_on
    if submitted_on is not None and on < submitted_on:
        raise InvalidRequest({"on": [_("This cannot come before the submission.")]})
    if step == "communication" and not url:
        raise InvalidRequest({"url": [_("Link the Commission's communication.")]})
    return transition(
        initiative,
        from_statuses=(Status.SUBMITTED,),
        to_status=Status.ANSWERED if step == "communication" else Status.SUBMITTED,
        action=f"quorum.initiative.{step}_recorded",
        actor=actor,
        actor_label=actor_label,
        data={"on": on.isoformat(), "url": url},
        **{f"{step}_on": on, f"{step}_url": url},
    )
