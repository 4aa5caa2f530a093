"""Collection (Art. 8): its start, extensions, an earlier end, and the changes dates make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from quorum.core.audit import Actor
from quorum.core.errors import Conflict
from quorum.initiatives.models import Extension, Initiative
from quorum.initiatives.services.checks import InvalidRequest, check_characters
from quorum.initiatives.services.transitions import Status, initiative_lock, transition
from quorum.rules import scheme


@transaction.atomic
def initiative_set_collection_start(
    *,
    initiative: Initiative,
    start: date,
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Art. 8(1): at most 6 months after registration, announced some working days ahead.

    Both limits are the scheme's (for the ECI: 6 months, 10 working days).
    """
    day = today or timezone.localdate()
    current = initiative_lock(initiative)
    rules = scheme(current.scheme)
    if current.registration_date is None:
        raise Conflict(_("The initiative is not registered."))
    latest = rules.latest_collection_start(current.registration_date)
    if start > latest:
        raise InvalidRequest(
            {"start": [_("The collection must start within six months of registration.")]}
        )
    if start < rules.earliest_announced_date(day):
        days = rules.announcement_working_days
        raise InvalidRequest(
            {
                "start": [
                    ngettext(
                        "The start must be announced at least %(days)d working day ahead.",
                        "The start must be announced at least %(days)d working days ahead.",
                        days,
                    )
                    % {"days": days}
                ]
            }
        )
    return transition(
        initiative,
        from_statuses=(Status.REGISTERED,),
        to_status=Status.REGISTERED,
        action="quorum.initiative.collection_start_set",
        actor=actor,
        actor_label=actor_label,
        data={"start": start.isoformat()},
        collection_start=start,
        collection_end=rules.collection_end(start),
        start_announced_on=day,
    )


@transaction.atomic
def initiative_record_extension(
    *,
    initiative: Initiative,
    new_end: date,
    legal_basis: str,
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    day = today or timezone.localdate()
    if not legal_basis.strip():
        raise InvalidRequest({"legal_basis": [_("State the legal basis of the extension.")]})
    if errors := check_characters({}, "legal_basis", legal_basis):
        raise InvalidRequest(errors)
    current = initiative_lock(initiative)
    previous_end = current.collection_end
    if previous_end is None or new_end <= previous_end:
        raise InvalidRequest(
            {"new_end": [_("An extension must move the end of collection later.")]}
        )
    initiative = transition(
        initiative,
        from_statuses=(Status.REGISTERED, Status.COLLECTING, Status.COLLECTION_CLOSED),
        # A closed collection reopens; one not yet closed keeps its status.
        to_status=Status.COLLECTING if current.status == Status.COLLECTION_CLOSED else None,
        action="quorum.initiative.collection_extended",
        actor=actor,
        actor_label=actor_label,
        data={
            "previous_end": previous_end.isoformat(),
            "new_end": new_end.isoformat(),
            "legal_basis": legal_basis,
        },
        collection_end=new_end,
    )
    Extension.objects.create(
        initiative=initiative,
        previous_end=previous_end,
        new_end=new_end,
        legal_basis=legal_basis.strip(),
        recorded_on=day,
    )
    return initiative


@transaction.atomic
def initiative_stop_collection(
    *,
    initiative: Initiative,
    end: date | None = None,
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Art. 8(1): an earlier end, announced as many working days ahead as a start is."""
    day = today or timezone.localdate()
    rules = scheme(initiative.scheme)
    earliest = rules.earliest_announced_date(day)
    new_end = end or earliest
    if new_end < earliest:
        days = rules.announcement_working_days
        raise InvalidRequest(
            {
                "end": [
                    ngettext(
                        "An earlier end must be announced at least %(days)d working day ahead.",
                        "An earlier end must be announced at least %(days)d working days ahead.",
                        days,
                    )
                    % {"days": days}
                ]
            }
        )
    current = initiative_lock(initiative)
    if current.collection_end is not None and new_end >= current.collection_end:
        raise InvalidRequest(
            {"end": [_("The new end must come before the current end of collection.")]}
        )
    return transition(
        initiative,
        from_statuses=(Status.REGISTERED, Status.COLLECTING),
        action="quorum.initiative.collection_stopped_early",
        actor=actor,
        actor_label=actor_label,
        data={"end": new_end.isoformat()},
        collection_end=new_end,
        stopped_early_on=day,
    )


# The transitions that dates make: from, to, action, and which initiatives are due on `day`.
DATE_TRANSITIONS: tuple[tuple[str, str, str, Callable[[date], Q]], ...] = (
    (
        Status.REGISTERED,
        Status.COLLECTING,
        "quorum.initiative.collection_opened",
        lambda day: Q(collection_start__lte=day),
    ),
    (
        Status.COLLECTING,
        Status.COLLECTION_CLOSED,
        "quorum.initiative.collection_closed",
        lambda day: Q(collection_end__lt=day),  # the end date is the last day of collection
    ),
)


def initiatives_advance_by_date(*, today: date | None = None) -> list[tuple[str, str, str]]:
    """Open and close collections on their dates, with nobody clicking. Safe to run again.

    Each initiative moves in a transaction of its own: one that cannot move leaves the others.
    """
    day = today or timezone.localdate()
    moved: list[tuple[str, str, str]] = []
    for before, after, action, due in DATE_TRANSITIONS:
        for initiative in Initiative.objects.filter(due(day), status=before):
            try:
                transition(
                    initiative,
                    from_statuses=(before,),
                    to_status=after,
                    action=action,
                    actor=None,
                    actor_label="system",
                )
            except Conflict:
                continue  # another run moved it first
            moved.append((initiative.slug, before, after))
    return moved
