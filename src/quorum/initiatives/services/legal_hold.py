"""Legal hold (Art. 19(7)): proceedings keep the statements from being destroyed."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from quorum.core.audit import Actor, audit_log
from quorum.initiatives.models import Initiative
from quorum.initiatives.services.transitions import initiative_lock


@transaction.atomic
def initiative_set_legal_hold(
    *,
    initiative: Initiative,
    held: bool,
    decided_on: date | None = None,
    actor: Actor = None,
    actor_label: str = "",
) -> Initiative:
    """Art. 19(7): proceedings hold the statements until one month after their final decision."""
    current = initiative_lock(initiative)
    Initiative.objects.filter(pk=current.pk).update(
        legal_hold=held, legal_hold_decided_on=decided_on
    )
    audit_log(
        action="quorum.initiative.legal_hold_set"
        if held
        else "quorum.initiative.legal_hold_lifted",
        subject=current,
        actor=actor,
        actor_label=actor_label,
        data={"decided_on": decided_on.isoformat() if decided_on else None},
    )
    initiative.refresh_from_db()
    return initiative
