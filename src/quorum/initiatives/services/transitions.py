"""The one way an initiative's state changes: locked, compare-and-swap, audited, one transaction.

A change and its audit entry commit together or not at all, so the audit log never misses a
change nor records one that did not happen. The row is locked and read before it changes: the
entry names the status the initiative really had, not the one in the caller's copy, which may
be stale when a change is allowed from several statuses.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict
from quorum.initiatives.models import Initiative

Status = Initiative.Status

NO_LONGER_ALLOWED = _("This initiative is no longer in a state that allows this.")

BEFORE_SUBMISSION = (
    Status.DRAFT,
    Status.REGISTRATION_REQUESTED,
    Status.REGISTERED,
    Status.COLLECTING,
    Status.COLLECTION_CLOSED,
    Status.VERIFICATION,
    Status.VERIFIED,
)


def initiative_lock(initiative: Initiative) -> Initiative:
    """The initiative's row as it is now, locked until the surrounding transaction ends.

    Call it inside ``transaction.atomic``; check state-dependent rules on what it returns.
    """
    try:
        return Initiative.objects.select_for_update().get(pk=initiative.pk)
    except Initiative.DoesNotExist as exc:
        raise Conflict(NO_LONGER_ALLOWED) from exc


def transition(
    initiative: Initiative,
    *,
    from_statuses: tuple[str, ...],
    to_status: str | None = None,
    action: str,
    actor: Actor,
    actor_label: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Initiative:
    """Move ``initiative`` to ``to_status`` (None: keep the status it has) and set ``fields``.

    Refused with Conflict unless the row, read under the lock, is in one of ``from_statuses``.
    ``initiative`` is refreshed from the database and returned.
    """
    with transaction.atomic():
        row = initiative_lock(initiative)
        if row.status not in from_statuses:
            raise Conflict(NO_LONGER_ALLOWED)
        after = row.status if to_status is None else to_status
        # Still a compare-and-swap: the lock makes it redundant on PostgreSQL, but the rule
        # "change only from the status just read" then holds on every database.
        changed = Initiative.objects.filter(pk=row.pk, status=row.status).update(
            status=after, updated_at=timezone.now(), **fields
        )
        if changed != 1:
            raise Conflict(NO_LONGER_ALLOWED)
        audit_log(
            action=action,
            subject=row,
            actor=actor,
            actor_label=actor_label,
            data={"from": row.status, "to": after, **(data or {})},
        )
    initiative.refresh_from_db()
    return initiative
