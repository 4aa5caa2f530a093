"""Reads of the updates room: whether an initiative takes subscribers, when its addresses
are destroyed, and the counts organisers may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from quorum.initiatives.models import Initiative
from quorum.rules import add_months
from quorum.updates.models import Subscriber, SubscriptionTally

Status = Initiative.Status

#: The addresses of an initiative are destroyed this many months after it ended.
KEPT_MONTHS_AFTER_END = 3
ENDED = (Status.ANSWERED, Status.UNSUCCESSFUL, Status.WITHDRAWN, Status.REFUSED)
#: From registration on there is something to tell; before it, the initiative is not public.
PUBLIC = (
    Status.REGISTERED,
    Status.COLLECTING,
    Status.COLLECTION_CLOSED,
    Status.VERIFICATION,
    Status.VERIFIED,
    Status.SUBMITTED,
)


def initiative_ended_on(initiative: Initiative) -> date | None:
    """The day an initiative's life ended: answered, withdrawn, refused or unsuccessful."""
    if initiative.status == Status.WITHDRAWN:
        return initiative.withdrawn_on or initiative.updated_at.date()
    if initiative.status == Status.ANSWERED:
        return initiative.communication_on or initiative.updated_at.date()
    if initiative.status == Status.UNSUCCESSFUL:
        return initiative.verified_on or initiative.collection_end or initiative.updated_at.date()
    if initiative.status == Status.REFUSED:
        return initiative.updated_at.date()
    return None


def addresses_destroyed_on(initiative: Initiative) -> date | None:
    """The fixed day its subscribers' addresses are destroyed; None while it runs."""
    ended = initiative_ended_on(initiative)
    return add_months(ended, KEPT_MONTHS_AFTER_END) if ended is not None else None


def accepts_subscribers(initiative: Initiative) -> bool:
    return initiative.status in PUBLIC


@dataclass(frozen=True)
class SubscriptionCounts:
    requested: int
    confirmed: int
    unsubscribed: int


def subscription_counts(initiative: Initiative) -> SubscriptionCounts:
    tally = SubscriptionTally.objects.filter(initiative=initiative).first()
    return SubscriptionCounts(
        requested=tally.requested if tally else 0,
        confirmed=Subscriber.objects.filter(initiative=initiative).count(),
        unsubscribed=tally.unsubscribed if tally else 0,
    )
