"""Registration (Art. 6): the organisers' request, the registrar's decision, the number.

When the registrar leaves the registration number blank, the platform gives the next free
number of the form the scheme's register uses (its data's ``register``: for the ECI,
ECI(YYYY)NNNNNN, the year of registration, then a serial of six digits counted within that
year, from 000001, so ECI(2026)000001, then ECI(2026)000002, …). A number the registrar typed
counts too: after ECI(2026)000042 comes ECI(2026)000043. Numbers of other forms are kept as
typed and not counted. A scheme without a register gives no number: the registrar types one.
"""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor
from quorum.initiatives.models import Initiative
from quorum.initiatives.notifications import (
    notify_registration_decided,
    notify_registration_requested,
)
from quorum.initiatives.selectors import organiser_group_problems
from quorum.initiatives.services.checks import InvalidRequest, check_characters, check_texts
from quorum.initiatives.services.transitions import Status, initiative_lock, transition
from quorum.rules import scheme

DECISIONS = ("registered", "partially_registered", "refused")

# "quorum" + "regn" as a stable 63-bit key for pg_advisory_xact_lock.
NUMBERING_LOCK_KEY = int.from_bytes(b"quorumrn", "big") & 0x7FFF_FFFF_FFFF_FFFF


@transaction.atomic
def initiative_request_registration(
    *, initiative: Initiative, actor: Actor = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    day = today or timezone.localdate()
    current = initiative_lock(initiative)
    errors = check_texts(
        scheme(current.scheme),
        current.title.get(current.language, ""),
        current.objectives.get(current.language, ""),
        current.annex.get(current.language, ""),
    )
    problems = organiser_group_problems(current)
    if problems:
        errors["organisers"] = problems
    if errors:
        raise InvalidRequest(errors)
    requested = transition(
        initiative,
        from_statuses=(Status.DRAFT,),
        to_status=Status.REGISTRATION_REQUESTED,
        action="quorum.initiative.registration_requested",
        actor=actor,
        actor_label=actor_label,
        registration_requested_on=day,
    )
    notify_registration_requested(requested)
    return requested


def _lock_numbering() -> None:
    """Hold back every other registration until this transaction ends.

    Two registrations at once would otherwise both read the same last number and both take
    the one after it. SQLite needs nothing more: its write transactions begin IMMEDIATE, one at
    a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NUMBERING_LOCK_KEY])


def next_registration_number(scheme_code: str, year: int) -> str:
    """The next free number of ``year`` in the scheme's register (see the module's docstring).

    Raises InvalidRequest when the scheme has no register, or once the year's serials are used
    up: the registrar must then type a number.
    """
    register = scheme(scheme_code).register
    numbers = Initiative.objects.exclude(registration_number="").values_list(
        "registration_number", flat=True
    )
    number = register.next_number(year, numbers) if register is not None else None
    if number is None:
        message = (
            _("Enter the registration number: none is left this year.")
            if register is not None
            else _("Enter the registration number: this scheme does not number initiatives.")
        )
        raise InvalidRequest({"registration_number": [message]})
    return number


@transaction.atomic
def initiative_decide_registration(
    *,
    initiative: Initiative,
    decision: str,
    registration_number: str = "",
    reasons: str = "",
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """The registrar's decision: "registered", "partially_registered" or "refused"."""
    day = today or timezone.localdate()
    if decision not in DECISIONS:
        raise InvalidRequest({"decision": [_("Choose a decision.")]})
    errors = check_characters({}, "registration_number", registration_number)
    check_characters(errors, "reasons", reasons, multiline=True)
    if errors:
        raise InvalidRequest(errors)
    if decision == "refused":
        if not reasons.strip():
            raise InvalidRequest({"reasons": [_("A refusal must state its reasons.")]})
        refused = transition(
            initiative,
            from_statuses=(Status.REGISTRATION_REQUESTED,),
            to_status=Status.REFUSED,
            action="quorum.initiative.registration_refused",
            actor=actor,
            actor_label=actor_label,
            decision_reasons=reasons.strip(),
        )
        notify_registration_decided(refused)
        return refused
    _lock_numbering()
    number = registration_number.strip() or next_registration_number(initiative.scheme, day.year)
    if Initiative.objects.filter(registration_number=number).exclude(pk=initiative.pk).exists():
        raise InvalidRequest({"registration_number": [_("This registration number is taken.")]})
    partial = decision == "partially_registered"
    if partial and not reasons.strip():
        raise InvalidRequest({"reasons": [_("A partial registration must state its reasons.")]})
    registered = transition(
        initiative,
        from_statuses=(Status.REGISTRATION_REQUESTED,),
        to_status=Status.REGISTERED,
        action="quorum.initiative.partially_registered"
        if partial
        else "quorum.initiative.registered",
        actor=actor,
        actor_label=actor_label,
        data={"registration_number": number},
        registration_number=number,
        registration_date=day,
        partially_registered=partial,
        decision_reasons=reasons.strip(),
    )
    notify_registration_decided(registered)
    return registered
